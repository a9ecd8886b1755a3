import cliProgress from 'cli-progress';
import type { Config } from '../../config/load-config.js';
import { publishLayer, type PublishResult } from '../../../pipeline/publish/publish-layer.js';
import { describeValidation, type ValidationSummary } from '../../../pipeline/ingest/validation-policy.js';
import { SourceFingerprinting } from '../../../pipeline/jobs/fingerprint-source.js';
import { KEEP_TILING_THREADS_MS, TilingPool } from '../../../pipeline/tile/tiling-pool.js';
import type { Runtime } from '../runtime.js';
import { CliError, UsageError } from '../cli-error.js';

/** Options of `plantiles publish`. */
export interface PublishCommandOptions {
  all?: boolean;
  json?: boolean;
}

/** Picks the configured layers a publish names. */
export function selectLayers(config: Config, names: string[], all: boolean): Config['layers'] {
  if (all && names.length) throw new UsageError('give layer ids or --all, not both');
  if (all) return config.layers;
  if (!names.length) throw new UsageError('name the layers to publish, or use --all');
  // A layer named twice is published once.
  return [...new Set(names)].map((name) => {
    const layer = config.layers.find((l) => l.id === name);
    if (!layer) throw new UsageError(`unknown layer "${name}" (configured: ${config.layers.map((l) => l.id).join(', ') || 'none'})`);
    return layer;
  });
}

/**
 * Publishes layers one after another, on tiling threads that go from one layer to the
 * next (started once, and warm). A layer that fails is reported (file, feature and
 * problem) and the others are still published, as a scheduled `publish --all` needs;
 * then CliError names every layer that failed (one layer: its own reason).
 */
export async function publishLayers(rt: Runtime, layers: Config['layers'], opts: PublishCommandOptions): Promise<PublishResult[]> {
  const pool = new TilingPool(KEEP_TILING_THREADS_MS);
  try {
    return await publishEach(rt, layers, opts, pool);
  } finally {
    await pool.close();
  }
}

async function publishEach(rt: Runtime, layers: Config['layers'], opts: PublishCommandOptions, tilingPool: TilingPool): Promise<PublishResult[]> {
  const results: PublishResult[] = [];
  const failed: string[] = [];
  const tty = !opts.json && process.stderr.isTTY;
  for (const configured of layers) {
    // An upload published through the admin API stays the layer's source until the next one.
    const from = rt.jobs.publishSource(configured);
    const layer = { ...configured, source: from.file };
    if (from.revision !== null && !opts.json) console.log(`${layer.id}: reading the uploaded source (revision r${from.revision}), the layer's source since it was published`);
    const bar = tty ? new cliProgress.SingleBar({ format: `${layer.id.padEnd(14)} [{bar}] {percentage}% {stage} {detail}`, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
    bar?.start(100, 0, { stage: 'ingest', detail: '' });
    try {
      // Recorded after the publish, so that a scheduled scan does not publish the same source again.
      // A source that cannot be read is left to the publish to report.
      const source = await SourceFingerprinting.start(layer.source).catch(() => null);
      const result = await publishLayer(layer, {
        store: rt.store,
        keepVersions: rt.config.storage.keepVersions,
        defaultAttribution: rt.config.node.attribution ?? rt.config.node.title,
        tilingPool,
        onSourceRead: (hash) => source?.sourceRead(hash),
        onProgress: (p) => {
          bar?.update(Math.round(p.progress * 100), { stage: p.stage, detail: p.detail });
          if (opts.json) console.log(JSON.stringify({ event: 'progress', layer: layer.id, ...p }));
        },
      });
      const fingerprint = await source?.fingerprint().catch(() => null);
      if (fingerprint) rt.jobs.recordPublishedSource(layer.id, fingerprint);
      // In the audit log beside the admin API's publishes and the CLI's rollbacks.
      const outcome = result.state === 'unchanged' ? `unchanged (version ${result.version})` : `published ${result.version} (was ${result.previous ?? 'none'})`;
      rt.audit.tryRecord({ actor: 'cli', action: 'publish', layer: layer.id, status: 0, result: outcome, detail: { version: result.version, previous: result.previous ?? null }, remote: null });
      bar?.stop();
      results.push(result);
      if (opts.json) console.log(JSON.stringify({ event: 'result', ...result }));
      else console.log([describeResult(result), ...describeProblems(result.layer, result.validation)].join('\n'));
    } catch (err) {
      bar?.stop();
      const reason = `publish ${layer.id} failed: ${(err as Error).message}`;
      rt.audit.tryRecord({ actor: 'cli', action: 'publish', layer: layer.id, status: 1, result: `failed: ${(err as Error).message}`, detail: null, remote: null });
      if (opts.json) console.log(JSON.stringify({ event: 'result', layer: layer.id, state: 'failed', error: (err as Error).message }));
      if (layers.length === 1) throw new CliError(reason);
      console.error(`plantiles: ${reason}`);
      failed.push(layer.id);
    }
  }
  rt.feed.poll(true);
  if (failed.length) throw new CliError(`${failed.length} of ${layers.length} layers failed to publish (${failed.join(', ')}; reasons above); the others were published`);
  return results;
}

function describeResult(r: PublishResult): string {
  if (r.state === 'unchanged') return `${r.layer}: unchanged (version ${r.version}, ${r.tiles} tiles, ${r.features} features)`;
  const from = r.previous ? ` (was ${r.previous})` : '';
  const how = r.mode === 'incremental' ? `; incremental: ${r.recomputedTiles} tiles cut again, the rest carried over` : '';
  const recalled = r.recalledFeatures > 0 ? `; ${r.recalledFeatures} source records unchanged since the last read` : '';
  const pruned = r.pruned.length ? `; removed by retention (storage.keepVersions): ${r.pruned.join(', ')}` : '';
  return `${r.layer}: published ${r.version}${from}: ${r.features} features, ${r.tiles} tiles, ${r.changedTiles} changed${how}${recalled}${pruned}`;
}

/** Shown problems per layer; --json carries the summary's full list. */
const SHOWN_PROBLEMS = 5;

/** The validation summary as lines: counts, then the first features by id with their problem. */
function describeProblems(layer: string, v: ValidationSummary | undefined): string[] {
  if (!v || !Object.keys(v.counts).length) return [];
  const lines = [`${layer}: validation: ${describeValidation(v)}`];
  for (const e of v.examples.slice(0, SHOWN_PROBLEMS)) lines.push(`  ${e.feature}: ${e.problem} [${e.action}]`);
  const total = Object.values(v.counts).reduce((sum, n) => sum + (n ?? 0), 0);
  if (total > SHOWN_PROBLEMS) lines.push(`  … ${total - SHOWN_PROBLEMS} more problems (publish --json lists the first ${v.examples.length})`);
  return lines;
}

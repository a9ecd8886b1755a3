import type { MirrorConfig } from '../../config/schema.js';
import { MirrorError } from '../../../pipeline/mirror/mirror-error.js';
import { startMirrors, type RunningMirrors } from '../../../pipeline/mirror/start-mirrors.js';
import type { LayerSyncOutcome } from '../../../pipeline/mirror/sync-layer.js';
import { absentLayersProblem, namedButAbsent, syncUpstream } from '../../../pipeline/mirror/sync-upstream.js';
import { UpstreamClient } from '../../../pipeline/mirror/upstream-client.js';
import type { MirrorStatusProvider } from '../../server/routes/mirrors.js';
import { CliError, UsageError } from '../cli-error.js';
import type { Runtime } from '../runtime.js';
import { upstreamUrlProblem } from '../../domain/upstream-url.js';

/** Options of `plantiles sync`. */
export interface SyncCommandOptions {
  upstream?: string;
  layers?: string[];
  prefix?: string;
  concurrency?: string;
  json?: boolean;
}

/**
 * `plantiles sync`: one catch-up pass against `--upstream` (or each configured mirror), then
 * return. An upstream that cannot be synced is reported (a `result` line with `--json`) and
 * the others are still synced; then CliError names what failed. A layer id asked for by name
 * (no `*`) that the upstream does not have is a failure too: a typo must not pass as in step.
 */
export async function syncOnce(rt: Runtime, opts: SyncCommandOptions): Promise<LayerSyncOutcome[]> {
  const all: LayerSyncOutcome[] = [];
  const problems: string[] = [];
  const json = opts.json ?? false;
  const targets = syncTargets(rt, opts);
  for (const target of targets) {
    const client = new UpstreamClient(target.upstream, { concurrency: target.concurrency });
    const started = performance.now();
    try {
      const result = await syncUpstream({
        client, store: rt.store, concurrency: target.concurrency, keepVersions: rt.config.storage.keepVersions,
        nodeId: rt.config.node.id, prefix: target.prefix, patterns: target.layers,
      });
      const seconds = Math.round(performance.now() - started) / 1000;
      for (const o of result.outcomes) print(json, { event: 'layer', upstream: client.baseUrl, ...o }, describe(o));
      const absent = namedButAbsent(target.layers, result.upstreamLayers);
      const problem = absentLayersProblem(client.baseUrl, target.layers, result.upstreamLayers);
      if (problem) problems.push(problem);
      print(json, { event: 'result', upstream: client.baseUrl, node: result.upstreamNode, layers: result.outcomes.length, bytesReceived: client.bytesReceived(), seconds, ...(absent.length ? { missing: absent } : {}) },
        `${client.baseUrl} (${result.upstreamNode}): ${result.outcomes.length} layers in ${seconds} s, ${client.bytesReceived()} bytes received`);
      all.push(...result.outcomes);
    } catch (err) {
      if (!(err instanceof MirrorError)) throw err;
      // One upstream: the closing error line says it all; several: each failure where it happened.
      if (json || targets.length > 1) print(json, { event: 'result', upstream: client.baseUrl, state: 'failed', error: err.message }, `sync of ${client.baseUrl} failed: ${err.message}`, true);
      problems.push(err.message);
    } finally {
      client.close();
    }
  }
  const failed = all.filter((o): o is Extract<LayerSyncOutcome, { state: 'failed' }> => o.state === 'failed');
  problems.push(...failed.map((o) => o.error));
  if (problems.length) throw new CliError(`sync failed: ${problems.join('; ')}`);
  return all;
}

/** Layer ids asked for by name (patterns without "*") that the upstream does not have. */
/** Starts the configured mirrors for `serve`; the provider reports them on GET /mirrors. */
export function startConfiguredMirrors(rt: Runtime): RunningMirrors {
  return startMirrors(rt.config.mirrors, {
    store: rt.store, nodeId: rt.config.node.id, keepVersions: rt.config.storage.keepVersions, logger: rt.logger,
    // This process wrote the switch: tell the change feed now rather than waiting for its poll.
    onChanged: () => rt.feed.poll(true),
  });
}

/** A status provider that answers once the mirrors exist (they start after the server listens). */
export function lateMirrorStatus(get: () => MirrorStatusProvider | null): MirrorStatusProvider {
  return { status: () => get()?.status() ?? [] };
}

/** Refuses to publish or roll back a layer this node mirrors: it changes only on its origin node. */
export function refuseMirrored(rt: Runtime, layerIds: readonly string[], action: string): void {
  for (const id of layerIds) {
    const origin = rt.store.getLayer(id)?.origin;
    if (origin) throw new CliError(`cannot ${action} "${id}": it is mirrored from node "${origin}" and is read-only here; ${action === 'roll back' ? 'roll it back' : `${action} it`} on "${origin}"`);
  }
}

function syncTargets(rt: Runtime, opts: SyncCommandOptions): MirrorConfig[] {
  const concurrency = opts.concurrency === undefined ? 8 : Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError('--concurrency must be an integer from 1 to 64');
  if (opts.upstream === undefined) {
    if (opts.layers?.length || opts.prefix !== undefined) throw new UsageError('--layers and --prefix go with --upstream');
    if (!rt.config.mirrors.length) throw new UsageError('give --upstream URL, or configure mirrors in the config file');
    return rt.config.mirrors.map((m) => (opts.concurrency === undefined ? m : { ...m, concurrency }));
  }
  const problem = upstreamUrlProblem(opts.upstream);
  if (problem) throw new UsageError(`--upstream ${problem}`);
  const layers = (opts.layers ?? ['*']).flatMap((l) => l.split(',')).filter(Boolean);
  if (layers.some((l) => !/^[A-Za-z0-9_.*-]{1,64}$/.test(l))) throw new UsageError('--layers takes layer ids or patterns with *');
  const prefix = opts.prefix ?? '';
  if (!/^[A-Za-z0-9_.-]{0,32}$/.test(prefix)) throw new UsageError('--prefix takes up to 32 letters, digits, _ . -');
  return [{ upstream: opts.upstream, layers, prefix, concurrency, pollSeconds: 5, retryMaxSeconds: 30 }];
}

/** One event: a JSON line on stdout with --json, else its text (on stderr for a failure). */
function print(json: boolean, record: Record<string, unknown>, line: string, failure = false): void {
  if (json) console.log(JSON.stringify(record));
  else if (failure) console.error(`plantiles: ${line}`);
  else console.log(line);
}

function describe(o: LayerSyncOutcome): string {
  switch (o.state) {
    case 'up-to-date': return `${o.layer}: up to date${o.version ? ` at ${o.version}` : ''}`;
    case 'switched': return `${o.layer}: switched to ${o.version} (was ${o.previous ?? 'none'})`;
    case 'imported':
      return `${o.layer}: ${o.version} (was ${o.previous ?? 'none'}): ${o.diffTiles} tiles differ, ${o.fetched} fetched (${o.fetchedBytes} bytes)${o.whole ? ', whole version' : ''}`;
    case 'failed': return `${o.layer}: failed: ${o.error}`;
  }
}

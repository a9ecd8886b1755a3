import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/load-config.js';
import type { SqliteSources } from '../../src/store/sqlite-sources.js';
import { fingerprintSource, sameStats, statSource } from './fingerprint-source.js';

/** A layer a scan found changed, and why. */
export interface ChangedSource {
  layer: string;
  reason: 'never published' | 'source moved' | 'content changed';
}

/** What a scan reads and calls. */
export interface ScanDeps {
  config: Config;
  sources: SqliteSources;
  /** True when the layer has a queued or running job (its outcome will record the source). */
  hasActiveJob(layer: string): boolean;
  logger: Logger;
}

/**
 * Finds the configured layers whose source changed since it was last published.
 * Size and mtime are only a hint: when they match the recorded ones the file is
 * taken as unchanged; otherwise the content hash decides (a touched but identical
 * file is not republished, and its new mtime is remembered). Content that already
 * failed to publish is not tried again until it changes.
 */
export async function scanSources(deps: ScanDeps): Promise<ChangedSource[]> {
  const changed: ChangedSource[] = [];
  for (const layer of deps.config.layers) {
    if (deps.hasActiveJob(layer.id)) continue;
    const active = deps.sources.active(layer.id);
    const source = active?.source ? path.join(deps.config.storage.dir, active.source) : layer.source;
    try {
      const reason = await changeOf(layer.id, source, deps);
      if (reason) changed.push({ layer: layer.id, reason });
    } catch (err) {
      deps.logger.warn({ layer: layer.id, err: (err as Error).message }, 'scan: cannot read the source');
    }
  }
  return changed;
}

async function changeOf(layer: string, source: string, deps: ScanDeps): Promise<ChangedSource['reason'] | null> {
  const state = deps.sources.state(layer);
  const stats = await statSource(source);
  const published = state.published;
  if (published && published.source === source && sameStats(published.files, stats)) return null;
  const fp = await fingerprintSource(source);
  if (published && published.source === source && published.hash === fp.hash) {
    deps.sources.refreshStats(layer, fp.files);
    return null;
  }
  if (state.failed && state.failed.source === source && state.failed.hash === fp.hash) return null;
  if (!published) return 'never published';
  return published.source === source ? 'content changed' : 'source moved';
}

import type { LayerStyle } from '../../src/domain/catalog.js';
import { buildConflict } from '../../src/store/build-conflict.js';
import { StoreError } from '../../src/store/store-error.js';
import type { TileStore, VersionRecord } from '../../src/store/tile-store.js';
import { importVersion } from './import-version.js';
import { MirrorError } from './mirror-error.js';
import type { UpstreamLayer, UpstreamVersion } from './upstream-catalog.js';
import type { UpstreamClient } from './upstream-client.js';

/** What syncing one layer needs. */
export interface LayerSyncContext {
  client: UpstreamClient;
  store: TileStore;
  concurrency: number;
  /** Live versions kept per mirrored layer (the mirror's own retention). */
  keepVersions: number;
  signal?: AbortSignal;
}

/** How one layer ended up after a sync. */
export type LayerSyncOutcome =
  | { state: 'up-to-date'; layer: string; version: string }
  | { state: 'switched'; layer: string; version: string; previous: string | null }
  | {
    state: 'imported'; layer: string; version: string; previous: string | null;
    diffTiles: number; fetched: number; fetchedBytes: number; refetched: number; whole: boolean;
  }
  | { state: 'failed'; layer: string; error: string };

/** A style for layers whose upstream sends none (an older upstream). */
const DEFAULT_STYLE: LayerStyle = { color: '#3a7d44', fillOpacity: 0.45, lineWidth: 1 };

/**
 * Brings the local copy of one upstream layer to the upstream's current version:
 * nothing to do; switch to a version it already holds (the upstream rolled back);
 * or import the version. Ordering is by the upstream's current pointer, never by
 * timestamps, so clock skew between nodes does not matter.
 */
export async function syncLayer(ctx: LayerSyncContext, up: UpstreamLayer, localId: string): Promise<LayerSyncOutcome> {
  const target = up.version;
  if (target === null) return { state: 'up-to-date', layer: localId, version: '' };
  const local = ctx.store.getLayer(localId);
  // Asked before anything else: a layer of the same id published here (or mirrored from another
  // node) is not this upstream's, even when its tag matches; and nothing is fetched for it.
  const conflict = buildConflict(localId, local, up.origin);
  if (conflict) throw new MirrorError('conflict', { upstream: ctx.client.baseUrl, layer: localId, version: target }, conflict);
  const listed = up.versions.find((v) => v.version === target);
  if (!listed) throw new MirrorError('bad-response', { upstream: ctx.client.baseUrl, layer: up.id, version: target }, 'the catalog does not list the current version');
  const current = local?.versions.find((v) => v.vid === local.currentVid) ?? null;
  const held = local?.versions.find((v) => v.version === target && v.state === 'live');
  // A tag names one version only while the upstream's store lives on: one restored from an
  // older copy may publish the same tag again with other tiles. Never serve ours for it.
  if (held && !sameVersion(held, listed)) {
    throw new MirrorError('conflict', { upstream: ctx.client.baseUrl, layer: localId, version: target }, `the upstream's ${target} is not the ${target} held here (${describe(listed)} upstream, ${describe(held)} here): was the upstream's store restored from an older copy? This node keeps serving what it has; a new publish on the upstream gives the layer a new tag, which is copied`);
  }
  if (current?.version === target) return { state: 'up-to-date', layer: localId, version: target };
  if (held && local?.origin === up.origin) {
    try {
      const e = ctx.store.rollback(localId, target, { byMirror: true });
      // Null: another process made it current meanwhile.
      if (!e) return { state: 'up-to-date', layer: localId, version: target };
      return { state: 'switched', layer: localId, version: target, previous: e.previous };
    } catch (err) {
      if (err instanceof StoreError) throw new MirrorError('conflict', { upstream: ctx.client.baseUrl, layer: localId, version: target }, err.message);
      throw err;
    }
  }
  const result = await importVersion(ctx, {
    upstreamLayer: up.id, localLayer: localId, origin: up.origin, target: listed,
    base: current ? { vid: current.vid, version: current.version } : null,
    title: up.title, attribution: up.attribution ?? '', style: up.style ?? DEFAULT_STYLE,
  });
  if (result.commit.state !== 'published') {
    throw new MirrorError('conflict', { upstream: ctx.client.baseUrl, layer: localId, version: target }, 'the import did not make a new version');
  }
  ctx.store.prune(localId, ctx.keepVersions);
  return {
    state: 'imported', layer: localId, version: target, previous: result.commit.previous,
    diffTiles: result.diffTiles, fetched: result.fetched, fetchedBytes: result.fetchedBytes, refetched: result.refetched, whole: result.whole,
  };
}

/** Whether a version held here is the upstream's version of the same tag: same time of publishing, tiles and bytes. */
function sameVersion(held: VersionRecord, listed: UpstreamVersion): boolean {
  return held.publishedAt === listed.publishedAt && held.tiles === listed.tiles && held.bytes === listed.bytes;
}

function describe(v: { publishedAt: string; tiles: number; bytes: number }): string {
  return `published ${v.publishedAt}, ${v.tiles} tiles, ${v.bytes} bytes`;
}

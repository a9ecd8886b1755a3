import type { LayerStyle, VersionMeta } from '../../src/domain/catalog.js';
import { EMPTY_VERSION } from '../../src/domain/version-tag.js';
import { StoreError } from '../../src/store/store-error.js';
import type { CommitResult, DiffEntry, TileRef, TileStore, VersionBuild } from '../../src/store/tile-store.js';
import { fetchTiles } from './fetch-tiles.js';
import { MirrorError } from './mirror-error.js';
import { fetchDiff, fetchVersionMeta, type UpstreamVersion } from './upstream-catalog.js';
import type { UpstreamClient } from './upstream-client.js';

/** Everything importing one version needs. */
export interface ImportContext {
  client: UpstreamClient;
  store: TileStore;
  concurrency: number;
  signal?: AbortSignal;
}

/** One version to copy from the upstream. */
export interface ImportJob {
  upstreamLayer: string;
  localLayer: string;
  origin: string;
  target: UpstreamVersion;
  /** The version the mirror holds now (also held by the upstream, hopefully), or null. */
  base: { vid: number; version: string } | null;
  title: string;
  attribution: string;
  style: LayerStyle;
}

/** What an import did. */
export interface ImportResult {
  commit: CommitResult;
  /** Tiles listed by the diff the import used (changed, added or deleted). */
  diffTiles: number;
  /** Tiles fetched (one per hash the mirror lacked), and their gzip bytes. */
  fetched: number;
  fetchedBytes: number;
  refetched: number;
  /** True when the diff was taken from nothing (no base, or the base was pruned upstream). */
  whole: boolean;
}

const REF_BATCH = 2000;

/**
 * Copies one version: the diff from the mirror's version (or from nothing), only the
 * tiles whose hash the mirror lacks, each verified; then one build that keeps the
 * upstream's tag and switches in the same single commit transaction as a local publish.
 */
export async function importVersion(ctx: ImportContext, job: ImportJob): Promise<ImportResult> {
  const { upstreamLayer: layer, target } = job;
  const meta = await fetchVersionMeta(ctx.client, layer, target.version);
  let base = job.base;
  let entries: DiffEntry[];
  try {
    entries = await fetchDiff(ctx.client, layer, target.version, base?.version ?? EMPTY_VERSION);
  } catch (err) {
    // The upstream pruned (or never had) the version the mirror holds: take the whole version.
    // Tiles the mirror already holds by hash are still not fetched again.
    if (!(err instanceof MirrorError && err.code === 'version-gone' && base)) throw err;
    base = null;
    entries = await fetchDiff(ctx.client, layer, target.version, EMPTY_VERSION);
  }
  const byHash = new Map<string, TileRef>();
  for (const e of entries) if (!('deleted' in e) && !byHash.has(e.hash)) byHash.set(e.hash, e);
  const missing = new Set(ctx.store.missingBlobs([...byHash.keys()]));
  const wanted = [...byHash.values()].filter((r) => missing.has(r.hash));
  const fetched = await fetchTiles({
    client: ctx.client, store: ctx.store, concurrency: ctx.concurrency, upstreamLayer: layer,
    localLayer: job.localLayer, version: target.version, signal: ctx.signal,
  }, wanted);
  // A copy takes a while: the upstream may have rolled back (or moved on) meanwhile, and a version it
  // withdrew must not become current here, even for a moment. The fetched tiles stay staged for later.
  await assertStillCurrent(ctx, layer, target.version);
  const commit = assembleAndCommit(ctx, job, meta, base, entries);
  return { commit, diffTiles: entries.length, fetched: fetched.fetched, fetchedBytes: fetched.bodyBytes, refetched: fetched.refetched, whole: base === null };
}

/** Fails with 'version-gone' (a retry starts from the upstream's catalog again) once `version` is no longer the layer's current one upstream. */
async function assertStillCurrent(ctx: ImportContext, layer: string, version: string): Promise<void> {
  const doc = await ctx.client.getJson(`/tiles/${encodeURIComponent(layer)}.json`, { signal: ctx.signal }) as { version?: unknown };
  if (doc.version === version) return;
  const now = typeof doc.version === 'string' ? doc.version : 'another version';
  throw new MirrorError('version-gone', { upstream: ctx.client.baseUrl, layer, version }, `the upstream's current version became ${now} while this one was copied: not switching to it`);
}

/** Base tiles not in the diff, plus the diff's new tiles, into one import build; then the commit. */
function assembleAndCommit(ctx: ImportContext, job: ImportJob, meta: VersionMeta, base: ImportJob['base'], entries: DiffEntry[]): CommitResult {
  const { store } = ctx;
  const { target } = job;
  let build: VersionBuild;
  try {
    build = store.beginBuild(job.localLayer, {
      version: target.version, publishedAt: target.publishedAt, origin: job.origin,
      expect: { tiles: target.tiles, bytes: target.bytes },
    });
  } catch (err) {
    throw asMirrorError(err, ctx, job);
  }
  try {
    const touched = new Set(entries.map((e) => `${e.z}/${e.x}/${e.y}`));
    // Read the base fully first: the store cannot write while a read cursor is open.
    const kept = base ? [...store.diff(null, base.vid)].filter((e) => !touched.has(`${e.z}/${e.x}/${e.y}`)) : [];
    const added = entries.filter((e): e is TileRef => !('deleted' in e));
    const refs = [...kept.filter((e): e is TileRef => !('deleted' in e)), ...added];
    for (let i = 0; i < refs.length; i += REF_BATCH) build.putTileRefs(refs.slice(i, i + REF_BATCH));
    const schemaKey = JSON.stringify([meta.vectorLayer, Object.entries(meta.fields).sort(([a], [b]) => (a < b ? -1 : 1))]);
    return build.commit(meta, schemaKey, { title: job.title, attribution: job.attribution, style: job.style });
  } catch (err) {
    build.abort();
    // What was fetched for this import may be what made it fail (bodies a proxy decoded or
    // recompressed): it is dropped, so the next pass fetches it again rather than reusing it.
    store.clearStaged(job.localLayer);
    throw asMirrorError(err, ctx, job);
  }
}

function asMirrorError(err: unknown, ctx: ImportContext, job: ImportJob): unknown {
  if (!(err instanceof StoreError)) return err;
  return new MirrorError('conflict', { upstream: ctx.client.baseUrl, layer: job.localLayer, version: job.target.version }, err.message);
}

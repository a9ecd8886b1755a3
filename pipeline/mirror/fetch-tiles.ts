import { gunzipSync } from 'node:zlib';
import type { StagedBlob, TileRef, TileStore } from '../../src/store/tile-store.js';
import { gzipTile, hashTile } from '../tile/encode-tile.js';
import { MirrorError } from './mirror-error.js';
import type { UpstreamClient } from './upstream-client.js';

/** What fetching a version's missing tiles needs. */
export interface FetchTilesContext {
  client: UpstreamClient;
  store: TileStore;
  concurrency: number;
  /** Upstream layer id (in the URL) and the local id (staging is kept per local layer). */
  upstreamLayer: string;
  localLayer: string;
  version: string;
  signal?: AbortSignal;
  /** Called after each verified tile, with the number done so far. */
  onTile?: (done: number) => void;
}

/** What a fetch did. */
export interface FetchTilesResult {
  /** Tiles received and verified. */
  fetched: number;
  /** Their gzip body bytes. */
  bodyBytes: number;
  /** Tiles whose first copy failed the hash check and were fetched again. */
  refetched: number;
}

const STAGE_EVERY = 64;

/**
 * Fetches one tile per missing hash over `concurrency` keep-alive connections,
 * checks each body against its hash (once more on a mismatch, then fails), and
 * stages the verified blobs as they arrive. Whatever arrived is staged even when
 * the fetch fails, so a resumed transfer does not fetch it again.
 */
export async function fetchTiles(ctx: FetchTilesContext, wanted: readonly TileRef[]): Promise<FetchTilesResult> {
  const result: FetchTilesResult = { fetched: 0, bodyBytes: 0, refetched: 0 };
  let staged: StagedBlob[] = [];
  const flush = (): void => {
    if (staged.length) ctx.store.stageBlobs(ctx.localLayer, staged);
    staged = [];
  };
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < wanted.length) {
      const ref = wanted[next++] as TileRef;
      try {
        const { blob, attempts } = await fetchVerified(ctx, ref);
        staged.push(blob);
        result.fetched++;
        result.bodyBytes += blob.gz.length;
        if (attempts > 1) result.refetched++;
        if (staged.length >= STAGE_EVERY) flush();
        ctx.onTile?.(result.fetched);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(ctx.concurrency, wanted.length) }, worker));
  } finally {
    flush();
  }
  if (failure !== null) throw failure;
  return result;
}

/** One tile, verified: a second try on a mismatch, then a hash-mismatch error. */
async function fetchVerified(ctx: FetchTilesContext, ref: TileRef): Promise<{ blob: StagedBlob; attempts: number }> {
  let problem = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const got = await fetchTile(ctx, ref);
    const plain = gunzipOrNull(got.gz);
    if (plain && hashTile(plain) === ref.hash) return { blob: { hash: ref.hash, gz: got.gz, plainSize: plain.length }, attempts: attempt };
    problem = plain ? `its bytes hash to ${hashTile(plain)}, not ${ref.hash}` : 'its body is not valid gzip';
  }
  throw new MirrorError('hash-mismatch', context(ctx, ref), `${problem} (fetched twice)`);
}

/** GETs a versioned tile, asking for the stored gzip body. */
async function fetchTile(ctx: FetchTilesContext, ref: TileRef): Promise<{ gz: Buffer }> {
  const path = `/tiles/${ctx.upstreamLayer}@${ctx.version}/${ref.z}/${ref.x}/${ref.y}.mvt`;
  const res = await ctx.client.get(path, { headers: { 'accept-encoding': 'gzip' }, signal: ctx.signal });
  if (res.status === 404 || res.status === 410) {
    throw new MirrorError('version-gone', context(ctx, ref), `the upstream no longer serves this version (${res.status})`);
  }
  if (res.status !== 200) throw new MirrorError('bad-response', context(ctx, ref), `answered ${res.status} for a tile the diff lists`);
  if (res.headers['content-encoding'] === 'gzip') return { gz: res.body };
  // A proxy that decoded the body: gzip it as the pipeline does (gzipTile), which gives the upstream's bytes.
  return { gz: gzipTile(res.body) };
}

function gunzipOrNull(gz: Buffer): Buffer | null {
  try {
    return gunzipSync(gz);
  } catch {
    return null;
  }
}

function context(ctx: FetchTilesContext, ref: TileRef): { upstream: string; layer: string; version: string; tile: string } {
  return { upstream: ctx.client.baseUrl, layer: ctx.upstreamLayer, version: ctx.version, tile: `${ref.z}/${ref.x}/${ref.y}` };
}

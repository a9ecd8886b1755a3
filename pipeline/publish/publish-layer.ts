import type { LayerConfig } from '../../src/config/schema.js';
import type { VersionMeta } from '../../src/domain/catalog.js';
import type { TileRecord, TileStore } from '../../src/store/tile-store.js';
import { ingestLayer } from '../ingest/ingest-layer.js';
import { tileLayer } from '../tile/tile-layer.js';

/** Stage of a publish, for progress reports. */
export type PublishStage = 'ingest' | 'tile' | 'commit' | 'done';

/** A progress report: the stage and a 0–1 fraction of the whole publish. */
export interface PublishProgress {
  stage: PublishStage;
  progress: number;
  detail: string;
}

/** Result of publishing one layer. */
export interface PublishResult {
  layer: string;
  state: 'published' | 'unchanged';
  version: string;
  previous: string | null;
  features: number;
  tiles: number;
  changedTiles: number;
  pruned: string[];
}

/** What a publish needs besides the layer's config. */
export interface PublishContext {
  store: TileStore;
  keepVersions: number;
  /** Attribution given to layers that set none (the demo labels itself synthetic here). */
  defaultAttribution: string;
  onProgress?: (p: PublishProgress) => void;
}

const BATCH = 512;

/**
 * Publishes a layer: ingest → validate → tile → store (batched, invisible) → one
 * commit transaction that makes it current, or "unchanged" when every tile equals
 * the current version's. Any failure drops the build; the current version stays.
 */
export async function publishLayer(layer: LayerConfig, ctx: PublishContext): Promise<PublishResult> {
  const report = (stage: PublishStage, progress: number, detail: string): void => ctx.onProgress?.({ stage, progress, detail });
  report('ingest', 0, `reading ${layer.source}`);
  const ingested = await ingestLayer({
    source: layer.source, crs: layer.crs, encoding: layer.encoding, idField: layer.idField, fields: layer.fields,
    onProgress: (n) => report('ingest', 0.05, `${n} features read`),
  });
  report('tile', 0.3, `${ingested.features.length} features`);
  const build = ctx.store.beginBuild(layer.id);
  let tiles = 0;
  try {
    let batch: TileRecord[] = [];
    const estimate = estimateTiles(ingested.bounds, layer.minzoom, layer.maxzoom);
    for (const tile of tileLayer(ingested.features, { layerName: layer.id, minzoom: layer.minzoom, maxzoom: layer.maxzoom, tolerance: layer.tolerance, buffer: layer.buffer })) {
      batch.push(tile);
      tiles++;
      if (batch.length >= BATCH) {
        build.putTiles(batch);
        batch = [];
        report('tile', 0.3 + 0.65 * Math.min(1, tiles / estimate), `${tiles} tiles`);
        await yieldToEventLoop();
      }
    }
    if (batch.length) build.putTiles(batch);
    report('commit', 0.96, `${tiles} tiles`);
    const meta: VersionMeta = {
      minzoom: layer.minzoom, maxzoom: layer.maxzoom, bounds: roundBounds(ingested.bounds),
      center: centerOf(ingested.bounds, layer.minzoom, layer.maxzoom), geometryKind: ingested.geometryKind,
      vectorLayer: layer.id, fields: ingested.fields, featureCount: ingested.features.length,
    };
    const schemaKey = JSON.stringify([layer.id, Object.entries(ingested.fields).sort(([a], [b]) => (a < b ? -1 : 1))]);
    const description = { title: layer.title ?? layer.id, attribution: layer.attribution ?? ctx.defaultAttribution, style: layer.style };
    const result = build.commit(meta, schemaKey, description);
    const pruned = result.state === 'published' ? ctx.store.prune(layer.id, ctx.keepVersions) : [];
    report('done', 1, result.state === 'published' ? `version ${result.version}` : `unchanged at ${result.version}`);
    return {
      layer: layer.id, state: result.state, version: result.version,
      previous: result.state === 'published' ? result.previous : result.version,
      features: ingested.features.length, tiles,
      changedTiles: result.state === 'published' ? result.changedTiles : 0, pruned,
    };
  } catch (err) {
    build.abort();
    throw err;
  }
}

/** Lets the event loop serve requests between batches. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function estimateTiles(b: [number, number, number, number], minzoom: number, maxzoom: number): number {
  let total = 0;
  for (let z = minzoom; z <= maxzoom; z++) {
    const n = 2 ** z;
    const w = Math.max(1, Math.ceil(((b[2] - b[0]) / 360) * n) + 1);
    const h = Math.max(1, Math.ceil(((b[3] - b[1]) / 170) * n) + 1);
    total += w * h;
  }
  return Math.max(1, total);
}

function roundBounds(b: [number, number, number, number]): [number, number, number, number] {
  return [round6(b[0]), round6(b[1]), round6(b[2]), round6(b[3])];
}

function centerOf(b: [number, number, number, number], minzoom: number, maxzoom: number): [number, number, number] {
  return [round6((b[0] + b[2]) / 2), round6((b[1] + b[3]) / 2), Math.min(maxzoom, Math.max(minzoom, 10))];
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

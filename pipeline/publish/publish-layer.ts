import type { LayerConfig } from '../../src/config/schema.js';
import type { VersionMeta } from '../../src/domain/catalog.js';
import path from 'node:path';
import type { CommitResult, TileStore, VersionBuild } from '../../src/store/tile-store.js';
import { ingestStream, type IngestSummary } from '../ingest/ingest-layer.js';
import { isGeojsonSource } from '../ingest/open-source.js';
import { readRecordsElsewhere, type RecordsElsewhere } from '../ingest/read-geojson-thread.js';
import type { ValidationSummary } from '../ingest/validation-policy.js';
import { FeaturePacker } from '../tile/feature-packer.js';
import { propertiesOf, type FeatureTable } from '../tile/feature-table.js';
import { TilingThreads } from '../tile/run-jobs.js';
import type { TilingPool } from '../tile/tiling-pool.js';
import { defaultWorkers } from '../tile/tile-layer.js';
import { resolveTilingOptions } from '../tile/tile-options.js';
import { buildTiles, type BudgetReport } from './build-tiles.js';
import { ingestMemoKey, MemoWriter, readIngestMemo, readMemoRecords, type IngestMemo } from './ingest-memo.js';
import { whileTiling } from './while-tiling.js';
import type { FeatureChanges } from './plan-republish.js';

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
  /** "incremental" when only the tiles touched by changed features were cut, the rest carried over by hash. */
  mode: 'full' | 'incremental';
  /** Tiles cut by this publish (every tile in a full build). */
  recomputedTiles: number;
  /** Features of the recomputed tiles whose geometry came from the previous version's tile instead of being cut again. */
  reusedFeatures: number;
  /** Features taken from the layer's ingest memo: their source records were unchanged since the last ingest, so not read again. */
  recalledFeatures: number;
  /**
   * Whether this publish wrote the layer's ingest memo anew. A memo that served all but a
   * few records is kept as it is (see memoStillServes): the next republish reads those
   * few again, which costs less than writing the whole layer out after every small edit.
   */
  memoWritten: boolean;
  /** Added, removed, changed and reordered features against the previous version, when its fingerprints could be compared. */
  featureChanges: FeatureChanges | null;
  /** Tiles the size budget changed, and any still over it. */
  budget: BudgetReport;
  /** What validation found: counts per problem, features skipped or kept with warnings, the first ones by id. */
  validation: ValidationSummary;
}

/** What a publish needs besides the layer's config. */
export interface PublishContext {
  store: TileStore;
  keepVersions: number;
  /** Attribution given to layers that set none (the demo labels itself synthetic here). */
  defaultAttribution: string;
  onProgress?: (p: PublishProgress) => void;
  /** Tiling worker threads (0 = this thread); default one per core. */
  workers?: number;
  /** Most features one tiling job holds, bounding a worker's memory; never changes the tiles. */
  pieceFeatures?: number;
  /** Where tiling threads come from and go back to (a long-lived publishing thread keeps them warm); default: started for this publish and ended after it. */
  tilingPool?: TilingPool;
  /** Awaited once the tiles are stored, just before the version commits (or is found unchanged). */
  beforeCommit?: () => Promise<void>;
  /**
   * Told once the source is read: its content hash (SourceHash) when ingest hashed the
   * bytes it read (a GeoJSON source read whole on a tiling thread), else null. A caller
   * that records the source's fingerprint takes it instead of reading the source again.
   */
  onSourceRead?: (hash: string | null) => void;
}

/** A layer as a publish reads it: its config, and for an upload the configured crs, used only where the uploaded file states none. */
export type LayerToPublish = LayerConfig & { fallbackCrs?: string | undefined };

/**
 * Publishes a layer: ingest → validate → tile → store (batched, invisible) → one
 * commit transaction that makes it current, or "unchanged" when every tile equals
 * the current version's. Any failure drops the build; the current version stays.
 */
export async function publishLayer(layer: LayerToPublish, ctx: PublishContext): Promise<PublishResult> {
  // The tiling threads load their code while the source is read.
  const workers = ctx.workers ?? defaultWorkers();
  const threads = workers > 0 ? new TilingThreads(workers, ctx.tilingPool) : undefined;
  let settled = false;
  try {
    const result = await publishWith(layer, { ...ctx, workers }, threads);
    settled = true;
    return result;
  } finally {
    // After a failure, a thread lent for reading the source may still be reading.
    await threads?.close(settled);
  }
}

/** The publish itself (`ctx.workers` decided), with the tiling threads started for it (none when it tiles on this thread). */
async function publishWith(layer: LayerToPublish, ctx: PublishContext, threads: TilingThreads | undefined): Promise<PublishResult> {
  const report = (stage: PublishStage, progress: number, detail: string): void => ctx.onProgress?.({ stage, progress, detail });
  report('ingest', 0, `reading ${layer.source}`);
  const { table, ingested, recalled, memoCount, memoKey, memoWriter, sourceHash } = await ingestIntoTable(layer, ctx.store, threads, (n) => report('ingest', 0.05, `${n} features read`));
  ctx.onSourceRead?.(sourceHash);
  const writeMemo = layer.idField !== undefined && !memoStillServes(memoCount, table.count, recalled);
  // The memo is made and written while the workers tile (from the first moment this thread
  // waits for them); a failure to write it fails the publish after tiling.
  const memoWritten = !writeMemo ? Promise.resolve(null)
    : whileTiling(() => ctx.store.writeIngestMemo(layer.id, memoWriter.serialize(memoKey, ingested.memoContext, table)));
  const featureCount = table.count;
  report('tile', 0.3, `${featureCount} features`);
  const build = ctx.store.beginBuild(layer.id);
  try {
    const tiled = await buildTiles(build, table, resolveTilingOptions(layer), {
      store: ctx.store, layer: layer.id, file: path.basename(layer.source), workers: ctx.workers, threads, pieceFeatures: ctx.pieceFeatures,
      describe: (i) => describeFeature(layer.idField, propertiesOf(table, i)[layer.idField ?? ''], i),
      onProgress: (done, tiles) => report('tile', 0.3 + 0.65 * done, `${tiles} tiles`),
    });
    const memoFailure = await memoWritten;
    if (memoFailure) throw memoFailure;
    await ctx.beforeCommit?.();
    report('commit', 0.96, `${tiled.tiles} tiles`);
    const result = commitBuild(build, layer, ingested, featureCount, ctx.defaultAttribution);
    const pruned = result.state === 'published' ? ctx.store.prune(layer.id, ctx.keepVersions) : [];
    report('done', 1, result.state === 'published' ? `version ${result.version}` : `unchanged at ${result.version}`);
    return {
      layer: layer.id, state: result.state, version: result.version,
      previous: result.state === 'published' ? result.previous : result.version,
      features: featureCount, tiles: tiled.tiles,
      changedTiles: result.state === 'published' ? result.changedTiles : 0, pruned,
      mode: tiled.mode, recomputedTiles: tiled.recomputedTiles, reusedFeatures: tiled.reusedFeatures, recalledFeatures: recalled, memoWritten: writeMemo, featureChanges: tiled.changes, budget: tiled.budget,
      validation: ingested.validation,
    };
  } catch (err) {
    build.abort();
    await memoWritten;
    throw err;
  }
}

/** What ingest made of a layer's source: the packed table, and what the next memo is made from. */
interface IngestedTable {
  table: FeatureTable;
  ingested: IngestSummary;
  /** Records recalled from the memo, and the memo's features (null: no memo served). */
  recalled: number;
  memoCount: number | null;
  memoKey: string;
  memoWriter: MemoWriter;
  /** The source's content hash, when the reading thread's bytes were hashed (RecordsElsewhere.sourceHash). */
  sourceHash: string | null;
}

/**
 * Reads the layer's source into a packed table. Features are packed as they stream in,
 * so the layer is never held as GeoJSON objects; records unchanged since the last ingest
 * are copied from its memo instead of read again. Nothing returned holds the previous
 * memo, so its features (as large as the layer's) are let go before tiling.
 */
async function ingestIntoTable(layer: LayerToPublish, store: TileStore, threads: TilingThreads | undefined, onProgress: (features: number) => void): Promise<IngestedTable> {
  const settings = {
    crs: layer.crs, fallbackCrs: layer.fallbackCrs, encoding: layer.encoding, idField: layer.idField, fields: layer.fieldMap ?? layer.fields,
    onInvalid: layer.onInvalid, maxVertices: layer.maxVertices, sourceLayer: layer.sourceLayer,
  };
  const memoKey = ingestMemoKey(settings);
  const loaded = layer.idField === undefined ? { memo: null } : loadMemo(store, layer.id, memoKey, layer.source, threads);
  const memo = loaded.memo;
  const memoCount = memo?.count ?? null;
  const memoWriter = new MemoWriter(memo);
  const packer = new FeaturePacker();
  if (memo) packer.expect(memo.table);
  // Recalled features mostly come in runs of consecutive memo features, copied a run at a time.
  let run = { from: 0, length: 0 };
  let recalled = 0;
  const flushRun = (): void => {
    if (run.length) packer.addFrom((memo as IngestMemo).table, run.from, run.length);
    run = { from: 0, length: 0 };
  };
  const ingested = await ingestStream({
    source: layer.source, ...settings,
    remember: layer.idField === undefined ? undefined : { memo },
    elsewhere: loaded.elsewhere,
    onProgress,
  }, (record) => {
    if (record.recalled === undefined) {
      flushRun();
      packer.add(record.feature);
    } else {
      recalled++;
      if (run.length && record.recalled === run.from + run.length) run.length++;
      else {
        flushRun();
        run = { from: record.recalled, length: 1 };
      }
    }
    memoWriter.add(record, memo);
  }).finally(() => loaded.elsewhere?.stop());
  flushRun();
  return { table: packer.finish(), ingested, recalled, memoCount, memoKey, memoWriter, sourceHash: loaded.elsewhere?.sourceHash() ?? null };
}

/** Commits the stored build as the layer's new current version (or finds it unchanged), with what the catalog says of it. */
function commitBuild(build: VersionBuild, layer: LayerConfig, ingested: IngestSummary, featureCount: number, defaultAttribution: string): CommitResult {
  const meta: VersionMeta = {
    minzoom: layer.minzoom, maxzoom: layer.maxzoom, bounds: roundBounds(ingested.bounds),
    center: centerOf(ingested.bounds, layer.minzoom, layer.maxzoom), geometryKind: ingested.geometryKind,
    vectorLayer: layer.id, fields: ingested.fields, featureCount,
  };
  const schemaKey = JSON.stringify([layer.id, Object.entries(ingested.fields).sort(([a], [b]) => (a < b ? -1 : 1))]);
  const description = { title: layer.title ?? layer.id, attribution: layer.attribution ?? defaultAttribution, style: layer.style };
  return build.commit(meta, schemaKey, description);
}

/** Share of a layer's records that may be read again, rather than recalled, before its memo is written anew. */
const MEMO_STALE_SHARE = 0.05;

/**
 * Whether the memo a publish recalled from (`memoCount` features; null for none) can stay
 * as it is for the next one: the memo is a cache keyed by each record's bytes, so records
 * it holds are recalled correctly however old it is, and records it lacks are read. It is
 * kept while the records read again (`kept - recalled`: changed or added since it was
 * made) and the memo features no record took (changed or removed) are each at most
 * MEMO_STALE_SHARE of the whole. Writing it costs as much as the layer is large (a copy of
 * every feature's coordinates and attributes, on a core the tiling threads need), reading
 * a few thousand records again far less. A memo made under other settings or another CRS
 * recalls nothing, so it is always written anew.
 */
export function memoStillServes(memoCount: number | null, kept: number, recalled: number): boolean {
  if (memoCount === null || recalled === 0) return false;
  return kept - recalled <= MEMO_STALE_SHARE * kept && memoCount - recalled <= MEMO_STALE_SHARE * memoCount;
}

/**
 * The layer's ingest memo if it was made under `key` (its columns are views of the file's
 * bytes). For a GeoJSON source, a tiling thread (waiting for the table meanwhile) is first
 * set to split the source and digest and look up its records, with the memo's digests
 * read ahead of the rest: the source is read there while the memo is read here. Without
 * a memo that serves, that thread still splits and digests (the digests make the next
 * memo), leaving this one to parse: a first publish's ingest of 200k parcels took 3.6-4.4 s
 * instead of 4.2-5.0 s (six runs each).
 */
function loadMemo(store: TileStore, layer: string, key: string, source: string, threads: TilingThreads | undefined): { memo: IngestMemo | null; elsewhere?: RecordsElsewhere } {
  const thread = isGeojsonSource(source) ? threads?.lend() : undefined;
  const file = store.openIngestMemo(layer);
  let elsewhere: RecordsElsewhere | undefined;
  try {
    if (thread) elsewhere = readRecordsElsewhere(thread, source, (file && readMemoRecords(file, key)) || { digests: new Uint8Array(0), lengths: new Int32Array(0) });
    return { memo: file ? readIngestMemo(file.read(0, file.size), key) : null, ...(elsewhere ? { elsewhere } : {}) };
  } catch (err) {
    elsewhere?.stop();
    throw err;
  } finally {
    file?.close();
  }
}

/** "BSM=3715…" when the layer has an id field, else the feature's position in the source. */
function describeFeature(idField: string | undefined, value: unknown, index: number): string {
  return idField && value !== undefined ? `${idField}=${String(value)}` : `#${index}`;
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

import type { TileRecord, TileStore, VersionBuild } from '../../src/store/tile-store.js';
import { IdIndex } from '../tile/id-index.js';
import { CoverageCheck } from '../tile/check-coverage.js';
import { checkTileReach } from '../tile/check-tile-reach.js';
import type { FeatureTable } from '../tile/feature-table.js';
import { tileNumber, type BudgetNote, type TileKey, type TileOutput } from '../tile/tile-job.js';
import type { TilingThreads } from '../tile/run-jobs.js';
import { tileLayer, type TileLayerRun } from '../tile/tile-layer.js';
import { tilingKey, type TilingOptions } from '../tile/tile-options.js';
import { packBudget, packFingerprints, unpackFeatureSet, type BudgetTileLists, type BudgetTiles, type Fingerprints } from './feature-set.js';
import { planRepublish, type FeatureChanges, type RepublishPlan } from './plan-republish.js';
import { whileTiling } from './while-tiling.js';

/** A tile the size budget changed, as the publish result reports it. */
export interface BudgetEntry extends TileKey, BudgetNote {}

/** The size budget's work in one publish (over the tiles cut by it). */
export interface BudgetReport {
  maxTileBytes: number;
  /** Tiles simplified further or thinned, with what was done; largest overshoot first. */
  adjusted: BudgetEntry[];
  /** Tiles still over the budget (drop: never layers that cannot shrink enough). */
  overBudget: number;
  /** The largest gzipped tile cut by this publish. */
  largestTileBytes: number;
}

/** What tiling wrote into a build. */
export interface TileBuildResult {
  mode: 'full' | 'incremental';
  /** Tiles of the new version. */
  tiles: number;
  /** Tiles cut by this publish (all of them in a full build). */
  recomputedTiles: number;
  /** Feature changes against the current version, when its fingerprints could be compared. */
  changes: FeatureChanges | null;
  /** Features of recomputed tiles whose geometry was taken from the current version's tile instead of cut again. */
  reusedFeatures: number;
  budget: BudgetReport;
}

/** What tiling a build needs. */
export interface TileBuildContext {
  store: TileStore;
  layer: string;
  /** The source file's name, for messages. */
  file: string;
  /** Names feature i in messages ("BSM=…" or "#12"). */
  describe(i: number): string;
  workers?: number;
  /** Tiling threads started ahead (while the layer was read). */
  threads?: TilingThreads | undefined;
  /** Most features one tiling job holds (default: PIECE_FEATURES). */
  pieceFeatures?: number;
  onProgress?(done: number, tiles: number): void;
}

/** Tiles, and gzip bytes, after which a batch is written to the store (one transaction): a few recomputed dense tiles are written while others are still cut. */
const BATCH = 512;
const BATCH_BYTES = 4 * 2 ** 20;
/**
 * Share of the current version's tiles above which recomputing them costs as much as a
 * full build, which is done instead: when recomputed tiles cut every feature again, and
 * when they read unchanged features back from the previous tiles (measured on 200k
 * parcels: 58% of the tiles recomputed that way took 0.7x the CPU of a full build).
 */
const FULL_BUILD_TILE_SHARE = { cutting: 0.5, lending: 0.9 };

/**
 * Cuts a layer into a build: incrementally when the current version kept fingerprints
 * made with the same tiling options (only tiles touched by changed features are cut,
 * every other one is carried over by hash), in full otherwise. Streams tiles into the
 * build in batched transactions, checks drop: never coverage, keeps the fingerprints.
 */
export async function buildTiles(build: VersionBuild, table: FeatureTable, options: TilingOptions, ctx: TileBuildContext): Promise<TileBuildResult> {
  checkTileReach(table, options.maxzoom, ctx.file, ctx.describe);
  const key = tilingKey(options);
  const { current, previous, planned, plan } = planOver(ctx, table, options, key);
  const carried = plan && current !== null ? build.carryOver(current, plan.tiles) : 0;
  const recomputed = plan ? new Set(plan.tiles.map((t) => tileNumber(t.z, t.x, t.y))) : null;
  const coverage = options.drop === 'never' ? new CoverageCheck(table, options, recomputed) : null;
  const sink = new TileSink(build, options.maxTileBytes, coverage);
  const lend = plan && current !== null && previous?.budget && options.drop === 'smallest' ? lendingFrom(ctx.store, current, previous.budget, table, plan) : undefined;
  // The fingerprints are stored while the tiles are cut (this thread mostly waits for the
  // workers then), from the first moment it waits; what the budget did follows them. Left
  // to the end, the 9.6 MB of 200k parcels took 15-60 ms more of a republish.
  const fingerprintsWritten = whileTiling(() => build.putFeatureSet(packFingerprints(table, key)));
  await tileLayer(table, options, {
    workers: ctx.workers,
    threads: ctx.threads,
    pieceFeatures: ctx.pieceFeatures,
    only: plan?.tiles,
    previous: lend,
    onTiles: (tiles) => sink.add(tiles),
    onProgress: (done) => ctx.onProgress?.(done, sink.count),
  });
  sink.flush();
  coverage?.verify(ctx.file, ctx.describe);
  const fingerprintFailure = await fingerprintsWritten;
  if (fingerprintFailure) throw fingerprintFailure;
  build.appendFeatureSet(packBudget(budgetOfVersion(sink, previous?.budget ?? null, recomputed)));
  return {
    mode: plan ? 'incremental' : 'full',
    tiles: carried + sink.count,
    recomputedTiles: sink.count,
    changes: planned?.changes ?? null,
    reusedFeatures: sink.reused,
    budget: sink.report(),
  };
}

/**
 * The current version (null: none), its fingerprints when they were made with the same
 * tiling options, the plan of a republish over them, and that plan when it is worth
 * following (null: build in full).
 */
function planOver(ctx: TileBuildContext, table: FeatureTable, options: TilingOptions, key: string): { current: number | null; previous: Fingerprints | null; planned: RepublishPlan | null; plan: RepublishPlan | null } {
  const layer = ctx.store.getLayer(ctx.layer);
  const current = layer?.currentVid ?? null;
  const currentTiles = layer?.versions.find((v) => v.vid === current)?.tiles ?? 0;
  const stored = current === null ? null : ctx.store.readFeatureSet(current);
  const previous = stored && stored.tilingKey === key ? unpackFeatureSet(stored) : null;
  const planned = previous ? planRepublish(previous, table, options) : null;
  const lends = Boolean(previous?.budget) && options.drop === 'smallest';
  const plan = planned && planned.tiles.length <= FULL_BUILD_TILE_SHARE[lends ? 'lending' : 'cutting'] * currentTiles ? planned : null;
  return { current, previous, planned, plan };
}

/**
 * How recomputed tiles read the current version's: a tile the budget simplified lends
 * from its body before simplification (and its simplified shapes from the tile); one it
 * thinned lends what it holds, and the sample that sized it; one it left alone holds
 * every feature that has a shape there.
 */
function lendingFrom(store: TileStore, current: number, budget: BudgetTiles, table: FeatureTable, plan: RepublishPlan): NonNullable<TileLayerRun['previous']> {
  const simplifiedBefore = new Set(budget.simplified);
  const droppedBefore = new Set(budget.dropped);
  return {
    carry: { reusableById: IdIndex.build(table.ids, table.count, plan.reusable).slots },
    tile: (t) => {
      const n = tileNumber(t.z, t.x, t.y);
      const stored = store.getTile(current, t.z, t.x, t.y)?.gz;
      const gz = simplifiedBefore.has(n) ? budget.unsimplified.get(n) : stored;
      if (!gz) return null;
      const sample = budget.samples.get(n);
      return { gz, complete: !droppedBefore.has(n), ...(simplifiedBefore.has(n) && stored ? { simplified: stored } : {}), ...(sample ? { sample } : {}) };
    },
  };
}

/** What the budget did to the new version's tiles: the recomputed tiles' notes and bodies, and the carried tiles' as they were (`before`). */
function budgetOfVersion(sink: TileSink, before: BudgetTiles | null, recomputed: Set<number> | null): BudgetTileLists {
  const simplified = [...sink.simplified];
  const dropped = [...sink.dropped];
  const { unsimplified, samples } = sink;
  if (recomputed && before) {
    for (const n of before.simplified) {
      if (recomputed.has(n)) continue;
      simplified.push(n);
      const body = before.unsimplified.get(n);
      if (body) unsimplified.set(n, body);
    }
    for (const n of before.dropped) if (!recomputed.has(n)) dropped.push(n);
    for (const [n, body] of before.samples) if (!recomputed.has(n)) samples.set(n, body);
  }
  return { simplified, dropped, unsimplified, samples };
}

/** Collects finished tiles into batched store writes and the budget report. */
class TileSink {
  count = 0;
  reused = 0;
  /** Tiles (tileNumber) the budget simplified further, and those it thinned. */
  readonly simplified: number[] = [];
  readonly dropped: number[] = [];
  /** Bodies of simplified tiles before simplification, by tileNumber. */
  readonly unsimplified = new Map<number, Uint8Array>();
  /** Bodies of the samples that sized thinned tiles, by tileNumber. */
  readonly samples = new Map<number, Uint8Array>();
  private batch: TileRecord[] = [];
  private batchBytes = 0;
  private readonly adjusted: BudgetEntry[] = [];
  private largest = 0;

  constructor(private readonly build: VersionBuild, private readonly maxTileBytes: number, private readonly coverage: CoverageCheck | null) {}

  add(tiles: TileOutput[]): void {
    for (const t of tiles) {
      // Tiles crossing from a worker arrive as plain Uint8Arrays; the store takes Buffers (a view, not a copy).
      const gz = Buffer.from(t.gz.buffer, t.gz.byteOffset, t.gz.byteLength);
      this.batch.push({ z: t.z, x: t.x, y: t.y, hash: t.hash, gz, plainSize: t.plainSize });
      this.batchBytes += gz.length;
      this.count++;
      if (gz.length > this.largest) this.largest = gz.length;
      if (t.budget) this.adjusted.push({ z: t.z, x: t.x, y: t.y, ...t.budget });
      if (t.budget && t.budget.simplifiedTo > 0) this.simplified.push(tileNumber(t.z, t.x, t.y));
      if (t.unsimplified) this.unsimplified.set(tileNumber(t.z, t.x, t.y), t.unsimplified);
      if (t.sample) this.samples.set(tileNumber(t.z, t.x, t.y), t.sample);
      if (t.budget && t.budget.dropped > 0) this.dropped.push(tileNumber(t.z, t.x, t.y));
      this.reused += t.reused;
      this.coverage?.add(t);
    }
    if (this.batch.length >= BATCH || this.batchBytes >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    if (!this.batch.length) return;
    this.build.putTiles(this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }

  report(): BudgetReport {
    const adjusted = this.adjusted.sort((a, b) => b.before - a.before || a.z - b.z || a.x - b.x || a.y - b.y);
    return { maxTileBytes: this.maxTileBytes, adjusted, overBudget: adjusted.filter((a) => a.over).length, largestTileBytes: this.largest };
  }
}

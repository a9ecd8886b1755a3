import type { GeoJSONVT, GeoJSONVTFeature } from '@maplibre/geojson-vt';
import type { PropertyValue } from '../ingest/source-feature.js';
import { cleanTileFeatures } from './clean-tile.js';
import { buildIndex, cutInChunks, visibleAt } from './cut-features.js';
import { encodedFrom, encodeTile, type EncodedTile } from './encode-tile.js';
import { propertiesOf, type FeatureTable } from './feature-table.js';
import { fitBudget, smallestSimplification, type TileFeatureSource } from './fit-budget.js';
import { addStandIns, ownedBy } from './keep-features.js';
import type { TileJob, TileKey, TileOutput } from './tile-job.js';
import { maxBuffer, TILE_EXTENT, zoomSettings, type TilingOptions } from './tile-options.js';
import { IdIndex } from './id-index.js';
import { touching, TouchingTiles } from './tile-plan.js';
import { lendingScratch, type LentFeatures } from './lent-features.js';
import { PreviousLayer } from './previous-layer.js';
import { simplifyFeatures } from './simplify-tile.js';
import { TileSplicer } from './splice-tile.js';
import type { PreviousTile } from './tile-job.js';

/**
 * What an incremental republish lets a job take over from the previous version: the
 * unchanged features by MVT id (the slots of an IdIndex over the table's ids holding
 * only those), so their geometry in a previous tile is their geometry in the new one.
 * Its array is shared with every worker.
 */
export interface Carry {
  reusableById: Int32Array;
}

/**
 * Cuts one job's tiles. A tile's bytes depend only on the features that touch it and
 * their source order: geojson-vt simplifies each feature on its own and clips each
 * along the same chain of tiles from 0/0/0, whichever subset of the layer an index
 * holds. So any job, full or incremental, on any worker, cuts a tile identically.
 */
export function cutJob(table: FeatureTable, options: TilingOptions, job: TileJob, emit: (out: TileOutput) => void, carry?: Carry): void {
  const cutter = new TileCutter(table, options, emit);
  if (job.tiles !== 'subtree' && job.previous && carry && options.drop === 'smallest') {
    const byId = IdIndex.over(carry.reusableById, table.ids);
    const margin = maxBuffer(options) / TILE_EXTENT;
    const near = new TouchingTiles(table, job.features, job.root, margin);
    job.tiles.forEach((t, k) => cutter.cutCarried(t, near.of(t), job.previous?.[k] ?? null, byId));
    return;
  }
  if (job.tiles !== 'subtree' && job.single) {
    for (const t of job.tiles) cutter.cutAlone(t, job.features);
    return;
  }
  const byProfile = new Map<string, number[]>();
  for (const z of targetZooms(options, job)) {
    const s = zoomSettings(options, z);
    const key = `${s.tolerance}/${s.buffer}`;
    byProfile.set(key, [...(byProfile.get(key) ?? []), z]);
  }
  for (const zooms of byProfile.values()) {
    const index = buildIndex(table, options, job.features, zooms);
    if (job.tiles === 'subtree') cutter.walk(index, job.root, zooms, job.features);
    else for (const t of byZoom(job.tiles)) if (zooms.includes(t.z)) cutter.cutFrom(index, t, job.features);
  }
}

function targetZooms(options: TilingOptions, job: TileJob): number[] {
  if (job.tiles !== 'subtree') return [...new Set(job.tiles.map((t) => t.z))].sort((a, b) => a - b);
  const zooms: number[] = [];
  for (let z = Math.max(job.root.z, options.minzoom); z <= options.maxzoom; z++) zooms.push(z);
  return zooms;
}

/** Tiles parents first, so geojson-vt drills each tile from its cached parent. */
function byZoom(tiles: TileKey[]): TileKey[] {
  return [...tiles].sort((a, b) => a.z - b.z || a.x - b.x || a.y - b.y);
}

class TileCutter {
  private readonly props = new Map<number, Record<string, PropertyValue>>();
  private readonly margin: number;

  constructor(private readonly table: FeatureTable, private readonly options: TilingOptions, private readonly emit: (out: TileOutput) => void) {
    this.margin = maxBuffer(options) / TILE_EXTENT;
  }

  /** Cuts every tile of the subtree at `zooms`, descending only where geojson-vt has data. */
  walk(index: GeoJSONVT, t: TileKey, zooms: number[], candidates: Int32Array): void {
    if (t.z > Math.max(...zooms)) return;
    const tile = index.getTile(t.z, t.x, t.y);
    if (!tile) return;
    if (zooms.includes(t.z)) this.finish(t, fromTile(tile.features), candidates);
    for (let i = 0; i < 4; i++) {
      const child = { z: t.z + 1, x: t.x * 2 + (i & 1), y: t.y * 2 + (i >> 1) };
      this.walk(index, child, zooms, touching(this.table, candidates, child, this.margin));
    }
  }

  /** Cuts one tile from an index holding (at least) every feature touching it. */
  cutFrom(index: GeoJSONVT, t: TileKey, jobFeatures: Int32Array): void {
    const tile = index.getTile(t.z, t.x, t.y);
    if (tile) this.finish(t, fromTile(tile.features), touching(this.table, jobFeatures, t, this.margin));
  }

  /** Cuts one tile building indexes only over the candidates the budget asks for (a dense tile cut from its largest features). */
  cutAlone(t: TileKey, candidates: Int32Array): void {
    const visible = visibleAt(this.table, this.options, candidates, t.z);
    const owned = this.options.drop === 'never' ? ownedBy(this.table, candidates, t) : EMPTY;
    let built: { subset: Int32Array; features: GeoJSONVTFeature[] } | null = null;
    const ensure = (subset: Int32Array): { subset: Int32Array; features: GeoJSONVTFeature[] } => {
      if (!built || !isSubset(subset, built.subset)) built = { subset, features: cutInChunks(this.table, this.options, t, subset) };
      return built;
    };
    const source: TileFeatureSource = {
      features: (subset) => {
        if (!subset) return addStandIns(ensure(visible).features, owned, this.table, t);
        const b = ensure(subset);
        return b.subset.length === subset.length ? b.features : keepOnly(b.features, subset);
      },
      prepare: (superset) => void ensure(superset),
    };
    this.fit(t, source, visible, owned);
  }

  /**
   * Cuts one tile of an incremental republish, taking every unchanged feature from the
   * previous version's tile (`previous`, null when it cannot serve) — its geometry, and
   * its encoded bytes, which the tile's encoding copies — and cutting only the others (of
   * a tile the budget left alone, not even the unchanged ones it lacks). A tile the
   * budget simplified lends its features from its body before simplification, and their
   * simplified shapes from the tile itself. Because geojson-vt cuts and the budget
   * simplifies each feature on its own, the features handed to the budget are exactly
   * those a full cut gives, so is the tile. A tile the budget thinned also lends from the
   * sample that sized it (chosen by id, so mostly the same features now): the budget's
   * sample is taken from there first, the tile's own features from the tile first. Drop:
   * smallest layers only (drop: never adds stand-ins).
   */
  cutCarried(t: TileKey, candidates: Int32Array, previous: PreviousTile | null, byId: IdIndex): void {
    const visible = visibleAt(this.table, this.options, candidates, t.z);
    const finalize = this.finalizer(t.z);
    const splicer = new TileSplicer(this.options.layerName, (f) => finalize([f])[0] as GeoJSONVTFeature);
    const { kept, simplified: simplifiedKept, sampled, used, cut } = lendingScratch(this.table.count);
    kept.fill(this.previousLayer(previous?.gz), byId);
    simplifiedKept.fill(this.previousLayer(previous?.simplified), byId);
    sampled.fill(this.previousLayer(previous?.sample), byId);
    used.clear();
    cut.clear();
    const fresh = new Map<number, GeoJSONVTFeature>();
    const ids = this.table.ids;
    // A tile the budget left alone holds every visible feature that has a shape here: an
    // unchanged one it lacks has none (too small or empty at this zoom), and never will.
    const complete = previous?.complete === true;
    const compute = (subset: Int32Array): void => {
      const missing = new Int32Array(subset.length);
      let m = 0;
      for (const i of subset) {
        if (kept.has(i) || sampled.has(i) || cut.has(i) || (complete && byId.get(ids[i] as number) === i)) continue;
        missing[m++] = i;
        cut.add(i);
      }
      if (m) for (const f of cutInChunks(this.table, this.options, t, missing.subarray(0, m))) fresh.set(f.id as number, f);
    };
    // Each list is taken from one previous layer as far as it can be, so the splicer copies most of it.
    const take = (wanted: Int32Array, first: LentFeatures, second: LentFeatures): GeoJSONVTFeature[] => {
      compute(wanted);
      const out: GeoJSONVTFeature[] = [];
      for (const i of wanted) {
        const lent = first.get(i) ?? second.get(i);
        if (lent) used.add(i);
        const f = lent ?? fresh.get(i);
        if (f) out.push(f);
      }
      return out;
    };
    const lendsSimplified = previous?.simplified !== undefined;
    const lendTolerance = smallestSimplification(zoomSettings(this.options, t.z).tolerance);
    const source: TileFeatureSource = {
      features: (subset) => take(subset ?? visible, kept, sampled),
      sample: (subset) => take(subset, sampled, kept),
      // The previous tile was simplified by the same tolerance: an unchanged feature's shape
      // is the one it has there, or none when simplifying and cleaning removed it.
      simplify: (list, tolerance) => lendsSimplified && tolerance === lendTolerance
        ? list.flatMap((f) => kept.get(f.id as number) === f ? (simplifiedKept.get(f.id as number) ?? []) : cleanTileFeatures(simplifyFeatures([f], tolerance)))
        : undefined,
    };
    const encode = (list: GeoJSONVTFeature[]): EncodedTile => {
      return encodedFrom(splicer.encode(list));
    };
    this.fit(t, source, visible, EMPTY, { reused: () => used.size, finalize, encode });
  }

  /** The named layer of a previous tile's gzip body, or null for none. */
  private previousLayer(gz: Uint8Array | undefined): PreviousLayer | null {
    return gz ? PreviousLayer.fromGzip(gz, this.options.layerName) : null;
  }

  private finish(t: TileKey, raw: () => GeoJSONVTFeature[], candidates: Int32Array): void {
    const never = this.options.drop === 'never';
    const owned = never ? ownedBy(this.table, candidates, t) : EMPTY;
    let all: GeoJSONVTFeature[] | null = null;
    const everything = (): GeoJSONVTFeature[] => {
      all ??= never ? addStandIns(cleanTileFeatures(raw()), owned, this.table, t) : cleanTileFeatures(raw());
      return all;
    };
    this.fit(t, { features: (subset) => (subset ? keepOnly(everything(), subset) : everything()) }, visibleAt(this.table, this.options, candidates, t.z), owned);
  }

  /** Finalizes features for zoom z, each once: the budget may encode a feature several times (sample, search steps). */
  private finalizer(z: number): (list: GeoJSONVTFeature[]) => GeoJSONVTFeature[] {
    const fields = zoomSettings(this.options, z).fields;
    const finalized = new Map<GeoJSONVTFeature, GeoJSONVTFeature>();
    return (list) => list.map((f) => {
      let done = finalized.get(f);
      if (!done) {
        done = this.finalize(f, fields);
        finalized.set(f, done);
      }
      return done;
    });
  }

  /** Fits a tile to the budget and emits it; an incremental republish brings its own finalizer and encoder, and counts features it lent. */
  private fit(t: TileKey, source: TileFeatureSource, candidates: Int32Array, owned: Int32Array, carried?: CarriedEncoding): void {
    const finalize = carried?.finalize ?? this.finalizer(t.z);
    const never = this.options.drop === 'never';
    const s = zoomSettings(this.options, t.z);
    const fitted = fitBudget(source, {
      maxBytes: this.options.maxTileBytes, drop: this.options.drop,
      tolerance: s.tolerance, candidates, sampleAbove: this.options.sampleAbove, ids: this.table.ids, size: this.table.size, finalize,
      encode: carried?.encode ?? ((list) => encodeTile(this.options.layerName, finalize(list))),
      restore: (list) => (never ? addStandIns(list, owned, this.table, t) : list),
    });
    if (!fitted) return;
    const present = never ? Int32Array.from(fitted.features, (f) => f.id as number) : EMPTY;
    const { hash, gz, plain } = fitted.encoded;
    const lend = never ? {} : { ...(fitted.unsimplified ? { unsimplified: fitted.unsimplified } : {}), ...(fitted.sample ? { sample: fitted.sample } : {}) };
    this.emit({ ...t, hash, gz, plainSize: plain.length, present, budget: fitted.note, reused: carried?.reused() ?? 0, ...lend });
  }

  /** The feature as encoded: its MVT id and the zoom's attributes. */
  private finalize(f: GeoJSONVTFeature, fields: string[] | null): GeoJSONVTFeature {
    const i = f.id as number;
    let all = this.props.get(i);
    if (!all) {
      all = propertiesOf(this.table, i);
      this.props.set(i, all);
    }
    let tags: Record<string, PropertyValue> = all;
    if (fields) {
      tags = {};
      for (const name of fields) if (all[name] !== undefined) tags[name] = all[name];
    }
    // geometry named: a lent feature's is a getter, which spreading leaves out.
    return { ...f, geometry: f.geometry, id: this.table.ids[i] as number, tags } as GeoJSONVTFeature;
  }
}

/** How a tile of an incremental republish is finalized and encoded, and how many features it lent. */
interface CarriedEncoding {
  reused(): number;
  finalize(list: GeoJSONVTFeature[]): GeoJSONVTFeature[];
  encode(list: GeoJSONVTFeature[]): EncodedTile;
}

const EMPTY = new Int32Array(0);

function fromTile(features: GeoJSONVTFeature[]): () => GeoJSONVTFeature[] {
  return () => features;
}

/** The features whose table index is in `subset` (ascending), in their order. */
function keepOnly(features: GeoJSONVTFeature[], subset: Int32Array): GeoJSONVTFeature[] {
  const wanted = new Set(subset);
  return features.filter((f) => wanted.has(f.id as number));
}

/** Whether every member of sorted `a` is in sorted `b`. */
function isSubset(a: Int32Array, b: Int32Array): boolean {
  let j = 0;
  for (const v of a) {
    while (j < b.length && (b[j] as number) < v) j++;
    if (j >= b.length || b[j] !== v) return false;
  }
  return true;
}

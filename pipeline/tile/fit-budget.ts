import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { cleanTileFeatures } from './clean-tile.js';
import type { EncodedTile } from './encode-tile.js';
import { LentFeature } from './previous-layer.js';
import { Ranking } from './rank-candidates.js';
import { sampleCandidates } from './sample-candidates.js';
import { simplifyFeatures } from './simplify-tile.js';
import type { BudgetNote } from './tile-job.js';

/**
 * A tile's features made from a subset of its candidate features. Because geojson-vt
 * cuts each feature on its own, the tile of a subset is the tile of all candidates
 * with the others left out; a source may build it either way.
 */
export interface TileFeatureSource {
  /** Cleaned features (ids = table indices) from `subset` (ascending table indices), or from every candidate (null). */
  features(subset: Int32Array | null): GeoJSONVTFeature[];
  /**
   * The features of the sample that sizes the tile (as `features(subset)`), for a source that
   * has another place to take them from first; where absent, `features` serves the sample.
   */
  sample?(subset: Int32Array): GeoJSONVTFeature[];
  /** Says the next requests will be subsets of `superset`, so a source that builds may build once. */
  prepare?(superset: Int32Array): void;
  /**
   * Simplifies features it gave by `tolerance` and cleans them, as simplifyFeatures then
   * cleanTileFeatures do, for a source that holds simplified features; undefined where it does not.
   */
  simplify?(features: GeoJSONVTFeature[], tolerance: number): GeoJSONVTFeature[] | undefined;
}

/** What the budget needs to know about a tile and its layer. */
export interface BudgetContext {
  /** Gzipped byte budget. */
  maxBytes: number;
  drop: 'smallest' | 'never';
  /** The zoom's simplification tolerance (tile units). */
  tolerance: number;
  /** The tile's candidate features (ascending table indices) that are not too small to appear at this zoom. */
  candidates: Int32Array;
  /** Candidates above which the tile is first sized from a sample. */
  sampleAbove: number;
  /** MVT id of each feature by table index: it decides which candidates the size sample holds. */
  ids: Float64Array;
  /** Size of each feature by table index: the smallest are dropped first (then the later in the source). */
  size: Float64Array;
  /** Gives features (ids = table indices) their MVT ids and attributes, ready to encode. */
  finalize(features: GeoJSONVTFeature[]): GeoJSONVTFeature[];
  /** Finalizes and encodes features (ids = table indices) as the tile's bytes (encodeTile's, which a source may reach faster). */
  encode(features: GeoJSONVTFeature[]): EncodedTile;
  /** Puts back stand-ins for owned features a step removed (drop: never layers). */
  restore(features: GeoJSONVTFeature[]): GeoJSONVTFeature[];
}

/** A tile after the budget: its features (table-index ids), its encoding, and what was done. */
export interface FittedTile {
  features: GeoJSONVTFeature[];
  encoded: EncodedTile;
  note: BudgetNote | null;
  /** For a tile the budget simplified: the gzip body it had before, which an incremental republish reads features back from. */
  unsimplified?: Uint8Array;
  /**
   * For a tile the budget thinned after sizing it from a sample: the gzip body of the
   * sample's encoding, which an incremental republish reads the sample's features back
   * from (most of them are small, so the thinned tile does not hold them).
   */
  sample?: Uint8Array;
}

/** Steps of extra simplification, as multiples of the zoom's tolerance (at least one tile unit). */
const NEVER_STEPS = [2, 4, 8, 16, 32];
const SMALLEST_STEPS = [4];

/** The one further simplification a drop: smallest tile over the budget may get, in tile units: a source that lends simplified features checks it. */
export function smallestSimplification(zoomTolerance: number): number {
  return Math.max(1, zoomTolerance) * (SMALLEST_STEPS[0] as number);
}
/** Overshoot (bytes / budget) up to which a drop: smallest tile tries simplification before dropping. */
const SIMPLIFY_FIRST_RATIO = 1.5;
/** Candidates a size estimate encodes. */
const SAMPLE_SIZE = 3000;
/** Estimated overshoot above which the tile is cut from the largest candidates only. */
const PREDROP_RATIO = 2;
/**
 * Estimated overshoot above which a sampled tile is also cut from its largest candidates
 * straight away when simplifying would erase it (simplifyingErases). The estimate runs a
 * few percent high (see SAMPLED_AIM), so below this the tile may yet fit and is encoded whole.
 */
const ERASED_PREDROP_RATIO = 1.25;
/** Most plain bytes a position takes in a tile: two varints of at most 5 bytes. */
const MAX_POSITION_BYTES = 10;
/** Most plain bytes of a feature besides its positions and attribute text: message header, id, type, command and tag varints per attribute. */
const MAX_FEATURE_BYTES = 32;
const MAX_ATTRIBUTE_BYTES = 24;
/**
 * Share of the features that fit, by the tile's measured bytes, that the drop search tries
 * first: the largest features' bytes grow about as the whole tile's, and a little under
 * the budget is accepted (from 90% of it).
 */
const MEASURED_AIM = 0.95;
/**
 * The same, when the tile was sized from a sample: a few thousand features compress less
 * well than the tile's largest tens of thousands, so the estimate runs high. On the
 * benchmark's 200k parcels, 95% of its fit landed at 88-90% of the budget on all six
 * sampled tiles (a second encoding each); all of it lands at about 93-95%.
 */
const SAMPLED_AIM = 1;
/** Encodings the drop search may spend looking for the most features that fit. */
const DROP_SEARCH_STEPS = 6;

/**
 * Keeps a tile within the gzipped byte budget: first by further simplification, then,
 * where the layer allows it, by keeping only its largest features. A tile far over the
 * budget (estimated from a sample of its candidates) is cut from the largest candidates
 * straight away, so a dense low-zoom tile never cuts all of them. A drop: never layer
 * that cannot shrink enough stays over budget, and the note says so. Returns null for a
 * tile left without features. Deterministic: the same candidates give the same tile.
 */
export function fitBudget(source: TileFeatureSource, ctx: BudgetContext): FittedTile | null {
  let sample: Uint8Array | undefined;
  if (ctx.drop === 'smallest' && ctx.candidates.length > ctx.sampleAbove) {
    const estimate = estimateBytes(source, ctx);
    sample = estimate.sample;
    const predrop = estimate.bytes > PREDROP_RATIO * ctx.maxBytes
      || (estimate.bytes > ERASED_PREDROP_RATIO * ctx.maxBytes && simplifyingErases(estimate.features, ctx, estimate.bytes));
    if (predrop) return withSample(dropToFit(source, ctx, estimate.bytes, Math.floor((ctx.candidates.length * ctx.maxBytes) / estimate.bytes), SAMPLED_AIM), sample);
  }
  const features = source.features(null);
  if (!features.length) return null;
  const first = ctx.encode(features);
  if (first.gz.length <= ctx.maxBytes) return { features, encoded: first, note: null };
  const before = first.gz.length;
  const simplified = simplifyToFit(source, features, first, ctx, before);
  if (simplified.fitted.encoded.gz.length <= ctx.maxBytes || ctx.drop === 'never') {
    const after = simplified.fitted.encoded.gz.length;
    const simplifiedAway = ctx.drop === 'never' ? 0 : features.length - simplified.fitted.features.length;
    const note = { before, after, simplifiedTo: simplified.tolerance, dropped: 0, simplifiedAway, over: after > ctx.maxBytes };
    return { ...simplified.fitted, note, ...(simplified.tolerance > 0 ? { unsimplified: first.gz } : {}) };
  }
  return withSample(dropToFit(source, ctx, before, Math.floor((ctx.candidates.length * ctx.maxBytes) / before), MEASURED_AIM), sample);
}

/** A thinned tile with the body of the sample that sized it; a tile that keeps every candidate lends them itself. */
function withSample(fitted: FittedTile | null, sample: Uint8Array | undefined): FittedTile | null {
  return fitted && sample && (fitted.note?.dropped ?? 0) > 0 ? { ...fitted, sample } : fitted;
}

function simplifyToFit(source: TileFeatureSource, features: GeoJSONVTFeature[], first: EncodedTile, ctx: BudgetContext, before: number): { fitted: FittedTile; tolerance: number } {
  const base = Math.max(1, ctx.tolerance);
  const steps = ctx.drop === 'never' ? NEVER_STEPS : before <= ctx.maxBytes * SIMPLIFY_FIRST_RATIO ? SMALLEST_STEPS : [];
  let fitted: FittedTile = { features, encoded: first, note: null };
  let tolerance = 0;
  for (const step of steps) {
    const simpler = ctx.restore(source.simplify?.(features, base * step) ?? cleanTileFeatures(simplifyFeatures(features, base * step)));
    // Simplifying removes rings smaller than the tolerance squared: a dense tile of parcels that
    // small would be all but erased (two z9 tiles of the 200k-parcel benchmark kept 71 of 22,618
    // and 48 of 18,574). Where that keeps fewer features than keeping the largest would (about
    // the share of the bytes that fit), the tile is thinned instead.
    if (ctx.drop === 'smallest' && keepsFewerThanThinning(simpler.length, features.length, before, ctx.maxBytes)) break;
    // Where thinning may follow, a simplification that cannot save enough bytes to fit is
    // not encoded (dense low-zoom tiles of small parcels, whose simplification saves well
    // under 1%): the bound is the most a removed position or feature can take, at the
    // tile's compression ratio.
    const cannotFit = (saved: number): boolean => (before * (first.plain.length - saved)) / first.plain.length > ctx.maxBytes;
    if (ctx.drop === 'smallest' && cannotFit(mostSaved(features, simpler, ctx, (saved) => !cannotFit(saved)))) break;
    fitted = { features: simpler, encoded: ctx.encode(simpler), note: null };
    tolerance = base * step;
    if (fitted.encoded.gz.length <= ctx.maxBytes) break;
  }
  return { fitted, tolerance };
}

/**
 * The most plain bytes a simplification can save: MAX_POSITION_BYTES per position it
 * removes, and for each feature it removes the most that feature can take (header,
 * attribute names and values as if unique to it). The sum only grows, so it stops once
 * `enough` says so (the decision it serves cannot change after that): a simplification
 * that removes thousands of features does not finalize them all.
 */
function mostSaved(features: readonly GeoJSONVTFeature[], simpler: readonly GeoJSONVTFeature[], ctx: BudgetContext, enough: (saved: number) => boolean): number {
  let saved = MAX_POSITION_BYTES * (positions(features) - positions(simpler));
  if (simpler.length >= features.length || enough(saved)) return saved;
  const kept = new Set(simpler.map((f) => f.id));
  for (const removed of features) {
    if (kept.has(removed.id)) continue;
    const f = ctx.finalize([removed])[0] as GeoJSONVTFeature;
    saved += MAX_FEATURE_BYTES;
    for (const [name, value] of Object.entries(f.tags ?? {})) saved += MAX_ATTRIBUTE_BYTES + 3 * (name.length + String(value).length);
    if (enough(saved)) break;
  }
  return saved;
}

/** Positions in the features' geometry (a point feature's count too); a lent feature counts its own without decoding. */
function positions(features: readonly GeoJSONVTFeature[]): number {
  let n = 0;
  for (const f of features) {
    if (f instanceof LentFeature) n += f.positions();
    else for (const part of f.geometry) n += Array.isArray(part) && Array.isArray(part[0]) ? part.length : 1;
  }
  return Math.max(1, n);
}

/**
 * Gzipped size of the whole tile, extrapolated from its sample's share (sampleCandidates:
 * chosen by id, so a republish finds most of it in the previous version's sample), with
 * the sample's gzip body (none when it has no features).
 */
function estimateBytes(source: TileFeatureSource, ctx: BudgetContext): { bytes: number; features: GeoJSONVTFeature[]; sample?: Uint8Array } {
  const sample = sampleCandidates(ctx.candidates, ctx.ids, Math.min(SAMPLE_SIZE, Math.ceil(ctx.sampleAbove / 4)));
  const features = source.sample?.(sample) ?? source.features(sample);
  if (!features.length) return { bytes: 0, features };
  const gz = ctx.encode(features).gz;
  return { bytes: (gz.length * ctx.candidates.length) / sample.length, features, sample: gz };
}

/**
 * Whether the budget's simplification would keep fewer of a sampled tile's features than
 * thinning keeps (about the share of the estimated bytes that fit), judged on its sample:
 * then simplifying is not tried (simplifyToFit would reject it), and the tile is thinned
 * without cutting and encoding every candidate first.
 */
function simplifyingErases(sample: readonly GeoJSONVTFeature[], ctx: BudgetContext, bytes: number): boolean {
  const simpler = cleanTileFeatures(simplifyFeatures(sample, smallestSimplification(ctx.tolerance)));
  return keepsFewerThanThinning(simpler.length, sample.length, bytes, ctx.maxBytes);
}

/** Whether a simplification keeping `kept` of `of` features keeps fewer than thinning a tile of `bytes` to `maxBytes` would (about the share of the bytes that fit). */
function keepsFewerThanThinning(kept: number, of: number, bytes: number, maxBytes: number): boolean {
  return kept < (of * maxBytes) / bytes;
}

/**
 * Keeps the `keep` largest candidates, searching (a few encodings at most) for the most
 * that fit; always ends within the budget.
 */
function dropToFit(source: TileFeatureSource, ctx: BudgetContext, before: number, keep: number, aim: number): FittedTile | null {
  const ranked = new Ranking(ctx.candidates, ctx.size);
  const largest = (k: number): Int32Array => ranked.largest(k);
  let fits = 0; // the most candidates known to fit (0 always does)
  let tooMany = ranked.length + 1;
  let best: FittedTile | null = null;
  let k = Math.max(1, Math.min(ranked.length, Math.floor(keep * aim)));
  // The search mostly stays near the first guess; room above it saves rebuilding for each larger try.
  source.prepare?.(largest(Math.min(ranked.length, Math.ceil(k * 1.5))));
  for (let step = 0; step < DROP_SEARCH_STEPS || !best; step++) {
    const features = source.features(largest(k));
    const encoded = ctx.encode(features);
    const size = encoded.gz.length;
    if (size <= ctx.maxBytes) {
      fits = k;
      best = { features, encoded, note: null };
      if (size >= ctx.maxBytes * 0.9 || k === ranked.length) break;
    } else tooMany = k;
    const guess = Math.floor((k * ctx.maxBytes * 0.97) / Math.max(1, size));
    k = guess > fits && guess < tooMany ? guess : Math.floor((fits + tooMany) / 2);
    if (k <= fits && best) break;
    if (k < 1) return overWithLargest(source, ctx, ranked, before);
  }
  if (!best?.features.length) return null;
  const after = best.encoded.gz.length;
  return { ...best, note: { before: Math.round(before), after, simplifiedTo: 0, dropped: ctx.candidates.length - fits, simplifiedAway: 0, over: false } };
}

/** Not even the largest feature alone fits: keep it, over the budget, rather than leave the tile empty. */
function overWithLargest(source: TileFeatureSource, ctx: BudgetContext, ranked: Ranking, before: number): FittedTile | null {
  const features = source.features(ranked.largest(1));
  if (!features.length) return null;
  const encoded = ctx.encode(features);
  const note = { before: Math.round(before), after: encoded.gz.length, simplifiedTo: 0, dropped: ctx.candidates.length - 1, simplifiedAway: 0, over: true };
  return { features, encoded, note };
}

import type { FeatureSet } from '../../src/store/tile-store.js';
import type { FeatureTable } from '../tile/feature-table.js';

/** Fingerprints of a version's features, in that version's source order. */
export interface Fingerprints {
  count: number;
  /** MVT id (from the idField value) of each feature. */
  ids: Float64Array;
  /** Two 32-bit words per feature. */
  hashes: Uint32Array;
  /** minX, minY, maxX, maxY per feature, web-mercator world units. */
  bbox: Float64Array;
  /** What the size budget did to the version's tiles; null when the version did not record it (then no tile may lend geometry). */
  budget: BudgetTiles | null;
}

/** Tiles (tileNumber, ascending) the size budget changed. */
export interface BudgetTiles {
  /** Simplified beyond their zoom's tolerance: their features' geometry is not what cutting them alone gives. */
  simplified: Float64Array;
  /** Thinned by leaving out their smallest features. */
  dropped: Float64Array;
  /** The gzip body each simplified tile had before simplification, by tileNumber (drop: smallest layers). */
  unsimplified: Map<number, Uint8Array>;
  /** The gzip body of the sample that sized each thinned tile, by tileNumber (drop: smallest layers; empty for sets written before samples were kept). */
  samples: Map<number, Uint8Array>;
}

/** What the budget did, as a build collects it. */
export interface BudgetTileLists {
  simplified: readonly number[];
  dropped: readonly number[];
  unsimplified: ReadonlyMap<number, Uint8Array>;
  samples: ReadonlyMap<number, Uint8Array>;
}

/**
 * A whole feature set, as the store reads it back (the two parts a publish writes, joined;
 * unpackFeatureSet's counterpart): ids, boxes and hashes (48 bytes a feature),
 * then a tail of float64s — the simplified tiles and the dropped tiles (each list as its
 * length and its members), the byte length of each unsimplified body (in the order of
 * the simplified list, 0 for none), the sampled tiles (as a list) and the byte length of
 * each one's sample body — then the unsimplified bodies, then the sample bodies.
 *
 * Older sets are read too: one written before the budget's tiles were recorded ends
 * after the hashes; one written before samples were kept ends after the unsimplified
 * bodies, so its size is exactly what its simplified list says, while a set with the
 * sample list (even an empty one) is at least 8 bytes longer.
 *
 * The set is the two parts packFingerprints and packBudget make, one after the other: a
 * publish stores the first while its tiles are cut, the second once they are.
 */
export function packFeatureSet(table: FeatureTable, tilingKey: string, budget: BudgetTileLists): FeatureSet {
  const head = packFingerprints(table, tilingKey);
  const tail = packBudget(budget);
  const data = new Uint8Array(head.data.byteLength + tail.byteLength);
  data.set(head.data, 0);
  data.set(tail, head.data.byteLength);
  return { ...head, data };
}

/** The first part of a feature set: the table's ids, boxes and hashes. */
export function packFingerprints(table: FeatureTable, tilingKey: string): FeatureSet {
  const n = table.count;
  const data = new Uint8Array(n * 48);
  data.set(new Uint8Array(table.ids.buffer, table.ids.byteOffset, n * 8), 0);
  data.set(new Uint8Array(table.bbox.buffer, table.bbox.byteOffset, n * 32), n * 8);
  data.set(new Uint8Array(table.hashes.buffer, table.hashes.byteOffset, n * 8), n * 40);
  return { tilingKey, count: n, data };
}

/** The second part of a feature set: what the budget did, and the bodies it kept. */
export function packBudget(budget: BudgetTileLists): Uint8Array {
  const [simplified, dropped] = [budget.simplified, budget.dropped].map((l) => [...new Set(l)].sort((a, b) => a - b)) as [number[], number[]];
  const sampled = [...budget.samples.keys()].sort((a, b) => a - b);
  const bodies = [...simplified.map((t) => budget.unsimplified.get(t) ?? EMPTY), ...sampled.map((t) => budget.samples.get(t) ?? EMPTY)];
  const lengths = bodies.map((b) => b.byteLength);
  const tail = [simplified.length, ...simplified, dropped.length, ...dropped, ...lengths.slice(0, simplified.length), sampled.length, ...sampled, ...lengths.slice(simplified.length)];
  const data = new Uint8Array(8 * tail.length + lengths.reduce((sum, l) => sum + l, 0));
  new Float64Array(data.buffer, 0, tail.length).set(tail);
  let at = 8 * tail.length;
  for (const b of bodies) {
    data.set(b, at);
    at += b.byteLength;
  }
  return data;
}

/**
 * Reads packed fingerprints back: views over the set's bytes (copied first only when
 * they do not start on an 8-byte boundary, as the typed arrays need), so the 48 bytes a
 * feature are not copied again on the way to planning a republish.
 */
export function unpackFeatureSet(set: FeatureSet): Fingerprints {
  const n = set.count;
  // A tail stored apart follows the fingerprints (joined only when the first part holds more than them).
  const joined = set.tail && set.data.byteLength > n * 48 ? joinParts(set.data, set.tail) : set.data;
  const bytes = aligned(joined);
  if (bytes.byteLength < n * 48) throw badLayout(set);
  const at = bytes.byteOffset;
  const tail = set.tail && joined === set.data ? aligned(set.tail) : null;
  return {
    count: n,
    ids: new Float64Array(bytes.buffer, at, n),
    bbox: new Float64Array(bytes.buffer, at + n * 8, n * 4),
    hashes: new Uint32Array(bytes.buffer, at + n * 40, n * 2),
    budget: tail ? unpackBudget(set, tail, 0) : bytes.byteLength > n * 48 ? unpackBudget(set, bytes, n * 48) : null,
  };
}

/** The bytes themselves where they start on an 8-byte boundary (as the typed arrays over them need), else a copy. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

function joinParts(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head, 0);
  out.set(tail, head.byteLength);
  return out;
}

/** The budget's tiles and bodies from `base` on in `bytes` (8-byte aligned): after the fingerprints, or a tail stored apart. */
function unpackBudget(set: FeatureSet, bytes: Uint8Array, base: number): BudgetTiles {
  const floats = (from: number, count: number): Float64Array => {
    if (!Number.isInteger(count) || count < 0 || base + 8 * (from + count) > bytes.byteLength) throw badLayout(set);
    return new Float64Array(bytes.buffer, bytes.byteOffset + base + 8 * from, count);
  };
  const s = floats(0, 1)[0] as number;
  const simplified = floats(1, s);
  const d = floats(1 + s, 1)[0] as number;
  const dropped = floats(2 + s, d);
  const unsimplifiedLengths = floats(2 + s + d, s);
  let floatCount = 2 + 2 * s + d;
  const unsimplifiedBytes = unsimplifiedLengths.reduce((sum, l) => sum + l, 0);
  // A set without the sample list ends right after the unsimplified bodies (see packFeatureSet).
  const withSamples = base + 8 * floatCount + unsimplifiedBytes !== bytes.byteLength;
  let sampled: Float64Array = new Float64Array(0);
  let sampleLengths: Float64Array = new Float64Array(0);
  if (withSamples) {
    const m = floats(floatCount, 1)[0] as number;
    sampled = floats(floatCount + 1, m);
    sampleLengths = floats(floatCount + 1 + m, m);
    floatCount += 1 + 2 * m;
  }
  let at = base + 8 * floatCount;
  const bodies = (tiles: Float64Array, lengths: Float64Array): Map<number, Uint8Array> => {
    const map = new Map<number, Uint8Array>();
    tiles.forEach((t, k) => {
      const length = lengths[k] ?? 0;
      if (at + length > bytes.byteLength) throw badLayout(set);
      // Each body in a buffer of its own: it is posted to a tiling thread with its tile, and
      // posting a view copies the whole buffer behind it (here, the entire feature set).
      if (length > 0) map.set(t, bytes.slice(at, at + length));
      at += length;
    });
    return map;
  };
  const unsimplified = bodies(simplified, unsimplifiedLengths);
  const samples = bodies(sampled, sampleLengths);
  if (at !== bytes.byteLength) throw badLayout(set);
  return { simplified, dropped, unsimplified, samples };
}

function badLayout(set: FeatureSet): RangeError {
  return new RangeError(`a feature set of ${set.count} features has ${set.data.byteLength} bytes, which does not match its layout`);
}

const EMPTY = new Uint8Array(0);

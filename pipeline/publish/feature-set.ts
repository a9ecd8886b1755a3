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
}

/** What the budget did, as a build collects it. */
export interface BudgetTileLists {
  simplified: readonly number[];
  dropped: readonly number[];
  unsimplified: ReadonlyMap<number, Uint8Array>;
}

/**
 * Packs a table's fingerprints for the store: ids, boxes and hashes (48 bytes a feature),
 * then as float64s the simplified tiles, the dropped tiles (each list as its length and
 * its members) and the byte length of each unsimplified body (in the order of the
 * simplified list, 0 for none), then those bodies.
 */
export function packFeatureSet(table: FeatureTable, tilingKey: string, budget: BudgetTileLists): FeatureSet {
  const n = table.count;
  const [simplified, dropped] = [budget.simplified, budget.dropped].map((l) => [...new Set(l)].sort((a, b) => a - b)) as [number[], number[]];
  const bodies = simplified.map((t) => budget.unsimplified.get(t) ?? new Uint8Array(0));
  const tail = [simplified.length, ...simplified, dropped.length, ...dropped, ...bodies.map((b) => b.byteLength)];
  const data = new Uint8Array(n * 48 + 8 * tail.length + bodies.reduce((sum, b) => sum + b.byteLength, 0));
  data.set(new Uint8Array(table.ids.buffer, table.ids.byteOffset, n * 8), 0);
  data.set(new Uint8Array(table.bbox.buffer, table.bbox.byteOffset, n * 32), n * 8);
  data.set(new Uint8Array(table.hashes.buffer, table.hashes.byteOffset, n * 8), n * 40);
  new Float64Array(data.buffer, n * 48, tail.length).set(tail);
  let at = n * 48 + 8 * tail.length;
  for (const b of bodies) {
    data.set(b, at);
    at += b.byteLength;
  }
  return { tilingKey, count: n, data };
}

/** Reads packed fingerprints back (copied, so the typed arrays are aligned). */
export function unpackFeatureSet(set: FeatureSet): Fingerprints {
  const n = set.count;
  const copy = set.data.slice();
  const bad = (): RangeError => new RangeError(`a feature set of ${n} features has ${set.data.byteLength} bytes, which does not match its layout`);
  if (copy.byteLength < n * 48) throw bad();
  // Sets written before the budget's tiles were recorded end after the hashes.
  let budget: BudgetTiles | null = null;
  if (copy.byteLength > n * 48) {
    const float = (k: number): number => {
      const at = n * 48 + 8 * k;
      if (at + 8 > copy.byteLength) throw bad();
      return new DataView(copy.buffer, at, 8).getFloat64(0, true);
    };
    const s = float(0);
    const d = float(1 + s);
    const floats = 2 + 2 * s + d;
    if (n * 48 + 8 * floats > copy.byteLength) throw bad();
    const tail = new Float64Array(copy.buffer, n * 48, floats);
    const simplified = tail.subarray(1, 1 + s);
    const unsimplified = new Map<number, Uint8Array>();
    let at = n * 48 + 8 * floats;
    simplified.forEach((t, k) => {
      const length = tail[2 + s + d + k] ?? 0;
      if (length > 0) unsimplified.set(t, copy.subarray(at, at + length));
      at += length;
    });
    if (at !== copy.byteLength) throw bad();
    budget = { simplified, dropped: tail.subarray(2 + s, 2 + s + d), unsimplified };
  }
  return {
    count: n,
    ids: new Float64Array(copy.buffer, 0, n),
    bbox: new Float64Array(copy.buffer, n * 8, n * 4),
    hashes: new Uint32Array(copy.buffer, n * 40, n * 2),
    budget,
  };
}

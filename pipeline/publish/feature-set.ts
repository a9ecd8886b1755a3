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
}

/** Packs a table's fingerprints for the store: ids, then boxes, then hashes. */
export function packFeatureSet(table: FeatureTable, tilingKey: string): FeatureSet {
  const n = table.count;
  const data = new Uint8Array(n * 8 + n * 32 + n * 8);
  data.set(new Uint8Array(table.ids.buffer, table.ids.byteOffset, n * 8), 0);
  data.set(new Uint8Array(table.bbox.buffer, table.bbox.byteOffset, n * 32), n * 8);
  data.set(new Uint8Array(table.hashes.buffer, table.hashes.byteOffset, n * 8), n * 40);
  return { tilingKey, count: n, data };
}

/** Reads packed fingerprints back (copied, so the typed arrays are aligned). */
export function unpackFeatureSet(set: FeatureSet): Fingerprints {
  const n = set.count;
  if (set.data.byteLength !== n * 48) throw new RangeError(`a feature set of ${n} features has ${set.data.byteLength} bytes, expected ${n * 48}`);
  const copy = set.data.slice();
  return {
    count: n,
    ids: new Float64Array(copy.buffer, 0, n),
    bbox: new Float64Array(copy.buffer, n * 8, n * 4),
    hashes: new Uint32Array(copy.buffer, n * 40, n * 2),
  };
}

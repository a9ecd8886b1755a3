import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { describe, expect, it } from 'vitest';
import { encodeTile } from '../../pipeline/tile/encode-tile.js';
import { IdIndex } from '../../pipeline/tile/id-index.js';
import { LentFeatures, lendingScratch, TileIndexSet } from '../../pipeline/tile/lent-features.js';
import { LentFeature, PreviousLayer } from '../../pipeline/tile/previous-layer.js';

const square = (x: number): GeoJSONVTFeature['geometry'] => [[[x, 0], [x, 10], [x + 10, 10], [x + 10, 0], [x, 0]]];
const layerOf = (ids: number[]): PreviousLayer =>
  PreviousLayer.fromGzip(encodeTile('parcels', ids.map((id, k) => ({ id, type: 3, tags: { BSM: String(id) }, geometry: square(20 * k) }) as GeoJSONVTFeature)).gz, 'parcels');

describe('features a previous tile lends, by table index', () => {
  // The new table: ids 100..104 at indices 0..4; 103 changed (not reusable).
  const tableIds = new Float64Array([100, 101, 102, 103, 104]);
  const byId = IdIndex.build(tableIds, 5, Uint8Array.from([1, 1, 1, 0, 1]));

  it('lends each unchanged feature of the layer at its table index, and nothing else', () => {
    const lent = new LentFeatures(5);
    lent.fill(layerOf([104, 103, 101, 999]), byId);
    expect([0, 1, 2, 3, 4].map((i) => lent.has(i))).toEqual([false, true, false, false, true]);
    const f = lent.get(4) as unknown as LentFeature;
    expect(f).toBeInstanceOf(LentFeature);
    expect([f.id, f.ref]).toEqual([4, 0]);
    expect((lent.get(1) as unknown as LentFeature).ref).toBe(2);
    expect(lent.get(3)).toBeUndefined();
  });

  it('forgets the previous tile\'s features when filled for the next (or for none)', () => {
    const lent = new LentFeatures(5);
    lent.fill(layerOf([100, 101]), byId);
    lent.fill(layerOf([102]), byId);
    expect([0, 1, 2].map((i) => lent.has(i))).toEqual([false, false, true]);
    lent.fill(null, byId);
    expect([0, 1, 2, 3, 4].some((i) => lent.has(i))).toBe(false);
  });

  it('takes the later of two features with one id', () => {
    const lent = new LentFeatures(5);
    lent.fill(layerOf([100, 100]), byId);
    expect((lent.get(0) as unknown as LentFeature).ref).toBe(1);
  });
});

describe('a set of table indices emptied per tile', () => {
  it('counts distinct members and empties on clear', () => {
    const set = new TileIndexSet(10);
    set.clear();
    for (const i of [3, 7, 3, 9]) set.add(i);
    expect(set.size).toBe(3);
    expect([3, 7, 9, 4].map((i) => set.has(i))).toEqual([true, true, true, false]);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(3)).toBe(false);
  });
});

describe('the lending scratch of a thread', () => {
  it('is reused for a table no larger, and made again for a larger one', () => {
    const first = lendingScratch(100);
    expect(lendingScratch(50)).toBe(first);
    const larger = lendingScratch(200);
    expect(larger).not.toBe(first);
    expect(lendingScratch(200)).toBe(larger);
  });
});

import type { Feature, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { packFeatureSet, unpackFeatureSet } from '../../pipeline/publish/feature-set.js';
import { packFeatures, type FeatureTable } from '../../pipeline/tile/feature-table.js';
import { tileNumber } from '../../pipeline/tile/tile-job.js';
import type { FeatureSet } from '../../src/store/tile-store.js';

function table(n: number): FeatureTable {
  return packFeatures(Array.from({ length: n }, (_, i): Feature<Polygon, { BSM: string }> => {
    const [lon, lat] = [116 + i * 0.01, 36.4];
    return {
      type: 'Feature', id: 2 ** 40 + i, properties: { BSM: `B${i}` },
      geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.005], [lon, lat]]] },
    };
  }));
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const [A, B, C, D] = [tileNumber(8, 210, 100), tileNumber(9, 421, 200), tileNumber(9, 420, 201), tileNumber(10, 842, 401)];

/**
 * A set in the layout written before samples were kept: today's layout without samples
 * is that layout with one more float, the count of sampled tiles (0), after the
 * unsimplified lengths; taking it out gives the old layout.
 */
function packBeforeSamples(t: FeatureTable, simplified: number[], dropped: number[], unsimplified: Map<number, Uint8Array>): FeatureSet {
  const set = packFeatureSet(t, 'k', { simplified, dropped, unsimplified, samples: new Map() });
  const at = t.count * 48 + 8 * (2 + 2 * new Set(simplified).size + new Set(dropped).size);
  expect(new Float64Array(set.data.slice(at, at + 8).buffer)[0]).toBe(0);
  return { ...set, data: new Uint8Array([...set.data.subarray(0, at), ...set.data.subarray(at + 8)]) };
}

describe('a version\'s feature set', () => {
  it('packs and unpacks fingerprints, the budget\'s tiles, unsimplified bodies and samples', () => {
    const t = table(5);
    const unsimplified = new Map([[A, bytes(13, 1)]]);
    const samples = new Map([[D, bytes(7, 4)], [C, bytes(21, 3)]]);
    const set = unpackFeatureSet(packFeatureSet(t, 'k', { simplified: [B, A], dropped: [D, C, D], unsimplified, samples }));
    expect(set.count).toBe(5);
    expect(set.ids).toEqual(t.ids);
    expect(set.bbox).toEqual(t.bbox);
    expect(set.hashes).toEqual(t.hashes);
    expect([...(set.budget?.simplified ?? [])]).toEqual([A, B]);
    expect([...(set.budget?.dropped ?? [])]).toEqual([C, D]);
    expect(set.budget?.unsimplified).toEqual(unsimplified);
    expect(set.budget?.samples).toEqual(new Map([[C, bytes(21, 3)], [D, bytes(7, 4)]]));
  });

  it('unpacks sets written before samples were kept, and before the budget\'s tiles were recorded', () => {
    const t = table(3);
    const unsimplified = new Map([[A, bytes(9, 2)], [B, bytes(30, 5)]]);
    for (const [simplified, dropped, bodies] of [[[A, B], [C], unsimplified], [[], [], new Map()], [[A], [], new Map([[A, bytes(1, 9)]])]] as const) {
      const old = unpackFeatureSet(packBeforeSamples(t, [...simplified], [...dropped], bodies));
      expect([...(old.budget?.simplified ?? [])]).toEqual(simplified);
      expect([...(old.budget?.dropped ?? [])]).toEqual(dropped);
      expect(old.budget?.unsimplified).toEqual(bodies);
      expect(old.budget?.samples.size).toBe(0);
      expect(old.ids).toEqual(t.ids);
      // The same lists with an empty sample list are a set of the current layout, read the same.
      const now = unpackFeatureSet(packFeatureSet(t, 'k', { simplified, dropped, unsimplified: bodies, samples: new Map() }));
      expect(now.budget).toEqual(old.budget);
    }
    const bare = packBeforeSamples(t, [], [], new Map());
    expect(unpackFeatureSet({ ...bare, data: bare.data.subarray(0, 3 * 48) }).budget).toBeNull();
  });

  it('unpacks a set read back in two parts as the same set, wherever the parts lie in memory', () => {
    const t = table(4);
    const budget = { simplified: [A], dropped: [C], unsimplified: new Map([[A, bytes(11, 6)]]), samples: new Map([[C, bytes(5, 7)]]) };
    const packed = packFeatureSet(t, 'k', budget);
    const whole = unpackFeatureSet(packed);
    // At an odd place in a larger buffer, as a database driver may hand a value over.
    const lying = (b: Uint8Array, at: number): Uint8Array => {
      const big = new Uint8Array(b.byteLength + at);
      big.set(b, at);
      return big.subarray(at);
    };
    for (const split of [4 * 48, 4 * 48 + 8]) {
      for (const at of [0, 3]) {
        const parts = { tilingKey: 'k', count: 4, data: lying(packed.data.subarray(0, split), at), tail: lying(packed.data.subarray(split), at + 1) };
        const read = unpackFeatureSet(parts);
        expect(read.ids).toEqual(whole.ids);
        expect(read.hashes).toEqual(whole.hashes);
        expect(read.budget).toEqual(whole.budget);
      }
    }
  });

  it('refuses a set whose bytes do not match its layout', () => {
    const t = table(2);
    const packed = packFeatureSet(t, 'k', { simplified: [A], dropped: [C], unsimplified: new Map([[A, bytes(10, 1)]]), samples: new Map([[C, bytes(10, 2)]]) });
    for (const cut of [1, 8, 15]) {
      expect(() => unpackFeatureSet({ ...packed, data: packed.data.subarray(0, packed.data.length - cut) })).toThrow(RangeError);
    }
    expect(() => unpackFeatureSet({ ...packed, data: packed.data.subarray(0, 2 * 48 - 1) })).toThrow(RangeError);
  });
});

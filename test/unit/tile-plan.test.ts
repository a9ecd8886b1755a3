import type { Feature, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { packFeatureSet, unpackFeatureSet } from '../../pipeline/publish/feature-set.js';
import { longestIncreasing, planRepublish } from '../../pipeline/publish/plan-republish.js';
import { cutJob } from '../../pipeline/tile/cut-job.js';
import { packFeatures } from '../../pipeline/tile/feature-table.js';
import type { TileOutput } from '../../pipeline/tile/tile-job.js';
import { resolveTilingOptions } from '../../pipeline/tile/tile-options.js';
import { planJobs, tilesTouchingBox } from '../../pipeline/tile/tile-plan.js';
import { configSchema } from '../../src/config/schema.js';

type Parcel = Feature<Polygon, { BSM: string; DLMC: string }>;

function grid(n: number): Parcel[] {
  return Array.from({ length: n }, (_, i) => {
    const lon = 116 + (i % 30) * 0.003;
    const lat = 36.4 + Math.floor(i / 30) * 0.003;
    return {
      type: 'Feature', id: i + 1, properties: { BSM: `B${i + 1}`, DLMC: '水田' },
      geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002], [lon, lat]]] },
    };
  });
}

const options = resolveTilingOptions(configSchema.parse({ layers: [{ id: 'l', source: 'l.geojson', minzoom: 6, maxzoom: 13, maxTileBytes: 4096 }] }).layers[0] as never);

function cutAll(features: Parcel[], pieceFeatures: number): Map<string, string> {
  const table = packFeatures(features);
  const out = new Map<string, string>();
  for (const job of planJobs(table, options, null, pieceFeatures)) {
    cutJob(table, options, job, (t: TileOutput) => {
      const key = `${t.z}/${t.x}/${t.y}`;
      expect(out.has(key), `${key} cut twice`).toBe(false);
      out.set(key, t.hash);
    });
  }
  return out;
}

describe('planning tiling jobs', () => {
  it('cuts every tile exactly once, and the same bytes whatever the piece size', () => {
    const features = grid(600);
    const one = cutAll(features, 1_000_000);
    expect(one.size).toBeGreaterThan(15);
    expect([...one.keys()].every((k) => Number(k.split('/')[0]) >= 6)).toBe(true);
    expect(cutAll(features, 40)).toEqual(one);
    expect(cutAll(features, 7)).toEqual(one);
  });

  it('lists the tiles a box touches at every zoom, with the buffer', () => {
    const tiles: string[] = [];
    // A point-sized box in the middle of tile 13/6834/3189 (z13 x = 0.834.., y = 0.389..).
    const x = (6834 + 0.5) / 2 ** 13;
    const y = (3189 + 0.5) / 2 ** 13;
    tilesTouchingBox([x, y, x, y], options, (t) => tiles.push(`${t.z}/${t.x}/${t.y}`));
    expect(tiles).toContain('13/6834/3189');
    expect(tiles).toContain('6/53/24');
    expect(tiles.filter((t) => t.startsWith('13/'))).toEqual(['13/6834/3189']);
    const edge: string[] = [];
    // On the tile's left edge, the buffer reaches into the neighbour too.
    tilesTouchingBox([6834 / 2 ** 13, y, 6834 / 2 ** 13, y], options, (t) => edge.push(`${t.z}/${t.x}/${t.y}`));
    expect(edge).toEqual(expect.arrayContaining(['13/6833/3189', '13/6834/3189']));
  });
});

describe('planning a republish from fingerprints', () => {
  const before = grid(300);
  const previous = unpackFeatureSet(packFeatureSet(packFeatures(before), 'k', { simplified: [], dropped: [], unsimplified: new Map(), samples: new Map() }));

  it('names added, removed, changed and reordered features, and the tiles of old and new geometry', () => {
    const after = structuredClone(before);
    const moved = after[10] as Parcel;
    moved.geometry.coordinates = [moved.geometry.coordinates[0]!.map(([a, b]) => [(a as number) + 0.05, b as number])];
    (after[20] as Parcel).properties.DLMC = '旱地';
    after.splice(30, 1);
    after.push({ ...structuredClone(before[0] as Parcel), id: 9999, properties: { BSM: 'new', DLMC: '水田' } });
    const [reordered] = after.splice(5, 1);
    after.splice(200, 0, reordered as Parcel);
    const plan = planRepublish(previous, packFeatures(after), options);
    expect(plan?.changes).toEqual({ added: 1, removed: 1, changed: 2, reordered: 1 });
    // Exactly the tiles the old and new boxes of those features touch, no others.
    const expected = new Set<string>();
    const boxes = packFeatures([before[10], moved, before[20], before[30], after[after.length - 1], reordered] as Parcel[]).bbox;
    for (let i = 0; i < boxes.length / 4; i++) tilesTouchingBox(boxes.subarray(i * 4, i * 4 + 4), options, (t) => expected.add(`${t.z}/${t.x}/${t.y}`));
    expect(new Set(plan?.tiles.map((t) => `${t.z}/${t.x}/${t.y}`))).toEqual(expected);
  });

  it('matches an id the previous version holds twice to its later feature, as the index does', () => {
    const twice = { ...previous, ids: Float64Array.from(previous.ids), hashes: Uint32Array.from(previous.hashes) };
    // Feature 7's id also at 8 (with 8's fingerprint): the new feature 7 now matches 8's, which differs.
    twice.ids[8] = twice.ids[7] as number;
    const plan = planRepublish(twice, packFeatures(before), options);
    expect(plan?.changes).toMatchObject({ changed: 1, removed: 1 });
    expect(plan?.reusable[7]).toBe(0);
  });

  it('finds nothing to do for the same features, and prefers a full build when much changed', () => {
    const same = planRepublish(previous, packFeatures(before), options);
    expect(same).toMatchObject({ changes: { added: 0, removed: 0, changed: 0, reordered: 0 }, tiles: [] });
    // Every feature is unchanged, so each may lend its geometry from a previous tile.
    expect([...(same?.reusable ?? [])]).toEqual(before.map(() => 1));
    const shifted = before.map((f) => ({ ...f, properties: { ...f.properties, DLMC: '旱地' } }));
    expect(planRepublish(previous, packFeatures(shifted), options)).toBeNull();
  });

  it('keeps the longest run of features in their old order', () => {
    expect([...longestIncreasing([0, 1, 7, 2, 3, 4])]).toEqual([1, 1, 0, 1, 1, 1]);
    expect([...longestIncreasing([3, 0, 1, 2])]).toEqual([0, 1, 1, 1]);
    expect([...longestIncreasing([])]).toEqual([]);
    expect([...longestIncreasing([2, 5, 9])]).toEqual([1, 1, 1]);
    // Equal neighbours are not increasing: one of them moved.
    expect([...longestIncreasing([1, 4, 4, 6])].reduce((a, b) => a + b, 0)).toBe(3);
  });
});

import path from 'node:path';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parcelRing, seededRandom } from '../../bench/generate-parcels.js';
import { packFeatureSet, unpackFeatureSet } from '../../pipeline/publish/feature-set.js';
import { planRepublish } from '../../pipeline/publish/plan-republish.js';
import { publishLayer } from '../../pipeline/publish/publish-layer.js';
import { packFeatures, type FeatureTable } from '../../pipeline/tile/feature-table.js';
import { IdIndex } from '../../pipeline/tile/id-index.js';
import { PreviousLayer } from '../../pipeline/tile/previous-layer.js';
import { tileNumber, type PreviousTile, type TileKey, type TileOutput } from '../../pipeline/tile/tile-job.js';
import { tileLayer } from '../../pipeline/tile/tile-layer.js';
import { resolveTilingOptions } from '../../pipeline/tile/tile-options.js';
import { configSchema } from '../../src/config/schema.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { writeGeojson } from '../helpers/fixtures.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

type Parcel = Feature<Polygon, { BSM: string; DLMC: string }>;

/** Small parcels east of `west`, dense enough that the low zooms' tiles are sized from a sample and thinned. */
function parcels(count: number, rnd: () => number, west = 116.1, first = 1): Parcel[] {
  return Array.from({ length: count }, (_, i) => parcel(first + i, rnd, west));
}

function parcel(n: number, rnd: () => number, west = 116.1): Parcel {
  const [cx, cy, r] = [west + rnd() * 0.4, 36.3 + rnd() * 0.3, 0.0003 + rnd() * 0.0015];
  return {
    type: 'Feature', id: 3715 * 1e8 + n, properties: { BSM: `B${n}`, DLMC: rnd() < 0.5 ? '水田' : '旱地' },
    geometry: { type: 'Polygon', coordinates: [parcelRing(cx, cy, r, r * 0.8, 5 + Math.floor(rnd() * 12), rnd)] },
  };
}

/** Moves some of the first `among` parcels, removes some and adds some there: the edits touch the dense tiles. */
function edit(before: Parcel[], rnd: () => number, among = before.length): Parcel[] {
  const out = before.map((p) => structuredClone(p));
  for (let k = 0; k < 12; k++) {
    const p = out[Math.floor(rnd() * among)] as Parcel;
    p.geometry.coordinates = p.geometry.coordinates.map((ring) => ring.map(([x, y]) => [(x as number) + 0.002, y as number]));
  }
  for (let k = 0; k < 5; k++) out.splice(Math.floor(rnd() * (among - k)), 1);
  for (let k = 0; k < 5; k++) out.splice(among - 5, 0, parcel(900_000 + k, rnd));
  return out;
}

const layer = configSchema.parse({ layers: [{ id: 'parcels', source: 'p.geojson', minzoom: 8, maxzoom: 11, maxTileBytes: 6000 }] }).layers[0];
const options = resolveTilingOptions(layer as NonNullable<typeof layer>);

async function cutAll(table: FeatureTable): Promise<Map<number, TileOutput>> {
  const out = new Map<number, TileOutput>();
  await tileLayer(table, options, { workers: 0, onTiles: (tiles) => tiles.forEach((t) => out.set(tileNumber(t.z, t.x, t.y), t)) });
  return out;
}

/** As build-tiles lends them: a simplified tile from its body before, a thinned one from itself and, if `withSample`, the sample that sized it. */
function previousTile(before: Map<number, TileOutput>, t: TileKey, withSample: boolean): PreviousTile | null {
  const old = before.get(tileNumber(t.z, t.x, t.y));
  if (!old) return null;
  return {
    gz: old.unsimplified ?? old.gz, complete: !(old.budget && old.budget.dropped > 0),
    ...(old.unsimplified ? { simplified: old.gz } : {}), ...(withSample && old.sample ? { sample: old.sample } : {}),
  };
}

describe('an incremental republish lends the sample that sized a thinned tile', () => {
  it('reads the sample\'s unchanged features back instead of cutting them, with the tiles of a full build', async () => {
    const rnd = seededRandom(4242);
    const v1 = parcels(5000, rnd);
    const v2 = edit(v1, rnd);
    const [table1, table2] = [packFeatures(v1), packFeatures(v2)];
    const before = await cutAll(table1);
    const full = await cutAll(table2);
    const fingerprints = unpackFeatureSet(packFeatureSet(table1, 'k', { simplified: [], dropped: [], unsimplified: new Map(), samples: new Map() }));
    const plan = planRepublish(fingerprints, table2, options);
    if (!plan) throw new Error('the edit should be republished incrementally');
    const sampled = plan.tiles.filter((t) => before.get(tileNumber(t.z, t.x, t.y))?.sample);
    expect(sampled.length, 'recomputed tiles that were thinned after a sample').toBeGreaterThan(0);
    const republish = async (withSample: boolean): Promise<TileOutput[]> => {
      const out: TileOutput[] = [];
      await tileLayer(table2, options, {
        workers: 0, only: plan.tiles, onTiles: (tiles) => out.push(...tiles),
        previous: { carry: { reusableById: IdIndex.build(table2.ids, table2.count, plan.reusable).slots }, tile: (t) => previousTile(before, t, withSample) },
      });
      return out;
    };
    const lending = await republish(true);
    const notLending = await republish(false);
    for (const tiles of [lending, notLending]) {
      expect(tiles.length).toBe(plan.tiles.filter((t) => full.has(tileNumber(t.z, t.x, t.y))).length);
      for (const t of tiles) {
        const expected = full.get(tileNumber(t.z, t.x, t.y));
        expect(t.hash, `${t.z}/${t.x}/${t.y}`).toBe(expected?.hash);
        expect(Buffer.from(t.sample ?? []).equals(Buffer.from(expected?.sample ?? []))).toBe(true);
      }
    }
    // A thinned tile holds its largest features, a sample mostly small ones: those of the new
    // sample that are unchanged, in the previous sample and not in the previous tile are lent
    // by the previous sample alone, and cut again without it.
    const reusable = new Set(Array.from(table2.ids).filter((_, i) => plan.reusable[i] === 1));
    let onlyInSample = 0;
    let sampleSizes = 0;
    for (const t of sampled) {
      const old = before.get(tileNumber(t.z, t.x, t.y)) as TileOutput;
      const ids = (gz: Uint8Array | undefined): Set<number> => new Set(gz ? PreviousLayer.fromGzip(gz, 'parcels').idList() : []);
      const [oldSample, oldTile, newSample] = [ids(old.sample), ids(old.unsimplified ?? old.gz), ids(full.get(tileNumber(t.z, t.x, t.y))?.sample)];
      sampleSizes += newSample.size;
      for (const id of newSample) if (reusable.has(id) && oldSample.has(id) && !oldTile.has(id)) onlyInSample++;
    }
    expect(onlyInSample).toBeGreaterThan(sampleSizes * 0.5);
    const reused = (tiles: TileOutput[]): number => tiles.reduce((sum, t) => sum + t.reused, 0);
    expect(reused(lending) - reused(notLending)).toBeGreaterThanOrEqual(onlyInSample);
  });
});

describe('a version keeps its thinned tiles\' samples', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  it('stores them with its features, carries those of tiles not recomputed, and a republish equals a full build', async () => {
    const rnd = seededRandom(99);
    // Two fields of parcels in two z8 tiles; the edits touch only the first, so the second's thinned tiles are carried over.
    let features: Parcel[] = [...parcels(5000, rnd, 116.1), ...parcels(5000, rnd, 117.5, 5001)];
    const source = path.join(dir, 'p.geojson');
    const doc = (storeDir: string): Record<string, unknown> => ({
      node: { id: 'n', title: 't' }, storage: { dir: storeDir },
      layers: [{ id: 'parcels', source: 'p.geojson', idField: 'BSM', minzoom: 8, maxzoom: 11, maxTileBytes: 6000 }],
    });
    const config = writeConfig(dir, doc('./a'));
    const l = config.layers[0] as (typeof config.layers)[number];
    const store = openSqliteStore(path.join(dir, 'a'));
    const fresh = openSqliteStore(path.join(dir, 'b'));
    const samplesOf = (s: typeof store): Map<number, Uint8Array> => {
      const set = s.readFeatureSet(s.getLayer('parcels')?.currentVid ?? -1);
      return set ? (unpackFeatureSet(set).budget?.samples ?? new Map()) : new Map();
    };
    try {
      writeGeojson(source, { type: 'FeatureCollection', features } as FeatureCollection);
      await publishLayer(l, { store, keepVersions: 3, defaultAttribution: 't', workers: 1 });
      const first = samplesOf(store);
      expect(first.size).toBeGreaterThan(1);
      features = edit(features, rnd, 5000);
      writeGeojson(source, { type: 'FeatureCollection', features } as FeatureCollection);
      const inc = await publishLayer(l, { store, keepVersions: 3, defaultAttribution: 't', workers: 2 });
      expect(inc.mode).toBe('incremental');
      expect(inc.recomputedTiles).toBeLessThan(inc.tiles);
      const full = await publishLayer(l, { store: fresh, keepVersions: 3, defaultAttribution: 't', workers: 1 });
      expect(full.mode).toBe('full');
      expect(currentTileHashes(store, 'parcels')).toEqual(currentTileHashes(fresh, 'parcels'));
      // Recomputed or carried over, each thinned tile's sample is the one a full build keeps; the second field's are carried.
      const second = samplesOf(store);
      expect(second).toEqual(samplesOf(fresh));
      const westOf = (n: number): number => ((Math.floor(n / 2 ** 24) % 2 ** 24) / 2 ** Math.floor(n / 2 ** 48)) * 360 - 180;
      const secondField = [...first].filter(([n]) => westOf(n) > 117);
      expect(secondField.length).toBeGreaterThan(0);
      for (const [n, body] of secondField) expect(Buffer.from(second.get(n) ?? []).equals(Buffer.from(body))).toBe(true);
    } finally {
      store.close();
      fresh.close();
    }
  });
});

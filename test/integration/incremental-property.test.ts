import path from 'node:path';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parcelRing, seededRandom } from '../../bench/generate-parcels.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import type { Config } from '../../src/config/load-config.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { writeGeojson } from '../helpers/fixtures.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

type Parcel = Feature<Polygon, { BSM: string; DLMC: string; TBMJ: number }>;

const AREA = { west: 115.8, south: 36.3, east: 116.3, north: 36.7 };

/** A seeded layer of star-shaped parcels (simple polygons, 5–20 vertices), dense enough to fill tiles at z8–z14. */
function makeLayer(count: number, rnd: () => number): Parcel[] {
  return Array.from({ length: count }, (_, i) => makeParcel(i + 1, rnd));
}

function makeParcel(n: number, rnd: () => number): Parcel {
  const cx = AREA.west + rnd() * (AREA.east - AREA.west);
  const cy = AREA.south + rnd() * (AREA.north - AREA.south);
  const r = 0.0004 + rnd() * 0.002;
  return {
    type: 'Feature',
    properties: { BSM: `371502${String(n).padStart(12, '0')}`, DLMC: rnd() < 0.5 ? '水田' : '旱地', TBMJ: Math.round(rnd() * 1e5) / 10 },
    geometry: { type: 'Polygon', coordinates: [parcelRing(cx, cy, r, r * 0.8, 5 + Math.floor(rnd() * 16), rnd)] },
  };
}

/** The edits a survey update makes: move, reshape, delete, add, change an attribute only, reorder. */
function editLayer(parcels: Parcel[], rnd: () => number, nextId: { n: number }): Parcel[] {
  const out = parcels.map((p) => structuredClone(p));
  const pick = (): number => Math.floor(rnd() * out.length);
  for (let k = 0; k < 4; k++) {
    const p = out[pick()] as Parcel;
    const [dx, dy] = [(rnd() - 0.5) * 0.01, (rnd() - 0.5) * 0.01];
    p.geometry.coordinates = p.geometry.coordinates.map((ring) => ring.map(([x, y]) => [(x as number) + dx, (y as number) + dy]));
  }
  for (let k = 0; k < 4; k++) {
    const p = out[pick()] as Parcel;
    const ring = p.geometry.coordinates[0] as number[][];
    const [cx, cy] = [ring[0]?.[0] ?? AREA.west, ring[0]?.[1] ?? AREA.south];
    p.geometry.coordinates = [parcelRing(cx, cy, 0.001 + rnd() * 0.002, 0.0008 + rnd() * 0.0015, 5 + Math.floor(rnd() * 16), rnd)];
  }
  for (let k = 0; k < 3; k++) out.splice(pick(), 1);
  for (let k = 0; k < 3; k++) out.splice(pick(), 0, makeParcel(nextId.n++, rnd));
  for (let k = 0; k < 4; k++) {
    const p = out[pick()] as Parcel;
    p.properties.DLMC = `${p.properties.DLMC}*`;
  }
  const [moved] = out.splice(pick(), 1);
  if (moved) out.splice(pick(), 0, moved);
  return out;
}


// The incremental republish must give exactly the tiles a full rebuild of the new source gives.
describe('incremental republish equals a full rebuild', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  const variants: { name: string; layer: Record<string, unknown> }[] = [
    { name: 'drop: smallest, with budget pressure', layer: { maxTileBytes: 6000, fieldsByZoom: { '8-10': ['DLMC'] } } },
    { name: 'drop: never, with budget pressure', layer: { maxTileBytes: 6000, drop: 'never' } },
  ];

  for (const variant of variants) {
    it(`${variant.name}: random edits, three rounds`, async () => {
      const rnd = seededRandom(variant.name.length * 7919);
      const source = path.join(dir, 'parcels.geojson');
      const doc = (storeDir: string): Record<string, unknown> => ({
        node: { id: 'n', title: 't' }, storage: { dir: storeDir },
        layers: [{ id: 'parcels', source: 'parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 14, ...variant.layer }],
      });
      const config: Config = writeConfig(dir, doc('./incremental'));
      const layer = config.layers[0] as Config['layers'][number];
      const store = openSqliteStore(path.join(dir, 'incremental'));
      let parcels = makeLayer(1200, rnd);
      const nextId = { n: 100_000 };
      const publish = (s: SqliteStore, workers: number): Promise<PublishResult> =>
        publishLayer(layer, { store: s, keepVersions: 5, defaultAttribution: 't', workers, pieceFeatures: 150 });
      try {
        writeGeojson(source, { type: 'FeatureCollection', features: parcels } as FeatureCollection);
        const first = await publish(store, 2);
        expect(first.mode).toBe('full');
        // The budget must be at work, or the test would not cover its dependence on a tile's features.
        expect(first.budget.adjusted.length).toBeGreaterThan(0);
        if (variant.layer.drop === 'never') expect(first.budget.adjusted.some((a) => a.simplifiedTo > 0)).toBe(true);
        else {
          // Both of the budget's means, so recomputed tiles read features back from thinned and from simplified tiles.
          expect(first.budget.adjusted.some((a) => a.dropped > 0)).toBe(true);
          expect(first.budget.adjusted.some((a) => a.simplifiedTo > 0)).toBe(true);
        }
        for (let round = 1; round <= 3; round++) {
          parcels = editLayer(parcels, rnd, nextId);
          writeGeojson(source, { type: 'FeatureCollection', features: parcels } as FeatureCollection);
          const inc = await publish(store, 2);
          expect(inc.mode).toBe('incremental');
          // Unchanged records come from the ingest memo, not read again. The memo is kept while
          // a few records change (memoStillServes), so records edited in earlier rounds may be read again too.
          expect(inc.recalledFeatures).toBeGreaterThan(parcels.length - 20 * round);
          expect(inc.recalledFeatures).toBeLessThan(parcels.length);
          expect(inc.featureChanges).toMatchObject({ added: 3, removed: 3 });
          expect(inc.featureChanges?.changed).toBeGreaterThan(0);
          expect(inc.recomputedTiles).toBeLessThan(inc.tiles);
          expect(inc.changedTiles).toBeGreaterThan(0);
          // A drop: smallest layer's recomputed tiles take unchanged features from the previous tiles; drop: never cuts them again.
          if (variant.layer.drop === 'never') expect(inc.reusedFeatures).toBe(0);
          else expect(inc.reusedFeatures).toBeGreaterThan(0);
          const fresh = openSqliteStore(path.join(dir, `full-${round}`));
          try {
            const full = await publish(fresh, round % 2);
            expect(full.mode).toBe('full');
            expect(full.recalledFeatures).toBe(0);
            expect(inc.tiles).toBe(full.tiles);
            expect(currentTileHashes(store, 'parcels')).toEqual(currentTileHashes(fresh, 'parcels'));
          } finally {
            fresh.close();
          }
        }
      } finally {
        store.close();
      }
    });
  }
});

import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Feature, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import type { Config } from '../../src/config/load-config.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { writeGeojson } from '../helpers/fixtures.js';
import { decodeTile, type DecodedFeature } from '../helpers/mvt.js';
import { validateMvt } from '../helpers/mvt-validate.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** Tiny permanent-farmland plots (a few metres across) among large ones: geojson-vt alone loses the tiny ones at low zooms. */
function plots(): Feature<Polygon>[] {
  const out: Feature<Polygon>[] = [];
  for (let i = 0; i < 400; i++) {
    const lon = 115.9 + (i % 20) * 0.006;
    const lat = 36.4 + Math.floor(i / 20) * 0.006;
    const big = i % 10 === 0;
    const d = big ? 0.004 : 0.00003 + (i % 7) * 0.00001;
    out.push({
      type: 'Feature',
      properties: { BSM: `3715020000${String(i).padStart(8, '0')}`, JBNTLX: big ? '01' : '02', MJ: big ? 1e5 : 9.5 },
      geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] },
    });
  }
  return out;
}

/** Decoded features of every tile of a layer's current version, by zoom. */
function featuresByZoom(store: SqliteStore, layer: string): Map<number, DecodedFeature[]> {
  const vid = store.getLayer(layer)?.currentVid;
  if (!vid) throw new Error(`${layer} not published`);
  const out = new Map<number, DecodedFeature[]>();
  for (const t of store.iterateTiles(vid)) {
    const plain = gunzipSync(t.gz);
    expect(validateMvt(plain, { buffer: 64 }), `${t.z}/${t.x}/${t.y}`).toEqual([]);
    out.set(t.z, [...(out.get(t.z) ?? []), ...(decodeTile(plain)[layer]?.features ?? [])]);
  }
  return out;
}

// drop: never keeps every feature at every zoom of its range, as a pixel-sized shape at least;
// drop: smallest (the default) lets tiny features vanish, which is what makes the first test meaningful.
describe('drop: never', () => {
  let dir: string;
  let store: SqliteStore;
  let config: Config;
  const results = new Map<string, PublishResult>();
  const ids = plots().map((f) => featureIdFor((f.properties as { BSM: string }).BSM));

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'pbf.geojson'), { type: 'FeatureCollection', features: plots() });
    const layer = { source: 'pbf.geojson', idField: 'BSM', minzoom: 6, maxzoom: 13 };
    config = writeConfig(dir, {
      node: { id: 'n', title: 't' }, storage: { dir: './store' },
      layers: [
        { id: 'pbf', ...layer, drop: 'never' },
        { id: 'pbf-default', ...layer },
        // A budget no tile of 400 features can meet: drop: never simplifies, keeps everything, and says the tile is over.
        { id: 'pbf-tight', ...layer, drop: 'never', maxTileBytes: 1024 },
        { id: 'pbf-tight-smallest', ...layer, maxTileBytes: 1024 },
      ],
    });
    store = openSqliteStore(path.join(dir, 'store'));
    for (const l of config.layers) results.set(l.id, await publishLayer(l, { store, keepVersions: 2, defaultAttribution: 't', workers: 1 }));
  });
  afterAll(() => {
    store.close();
    removeDir(dir);
  });

  const missingAt = (layer: string, z: number): number[] => {
    const present = new Set((featuresByZoom(store, layer).get(z) ?? []).map((f) => f.id));
    return ids.filter((id) => !present.has(id));
  };

  it('keeps every feature at every zoom, tiny ones as pixel-sized shapes', () => {
    for (let z = 6; z <= 13; z++) expect(missingAt('pbf', z), `zoom ${z}`).toEqual([]);
    const atSix = featuresByZoom(store, 'pbf').get(6) ?? [];
    const tiny = atSix.find((f) => f.properties.JBNTLX === '02');
    const xs = tiny?.geometry[0]?.map((p) => p.x) ?? [];
    // A stand-in is one pixel of a 512-pixel tile: 8 units of the 4096 extent.
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...xs) - Math.min(...xs)).toBeLessThanOrEqual(16);
  });

  it('is needed: with drop: smallest, tiny features vanish at low zooms and reappear deeper', () => {
    expect(missingAt('pbf-default', 6).length).toBeGreaterThan(100);
    expect(missingAt('pbf-default', 13)).toEqual([]);
  });

  it('under an impossible budget, keeps every feature, simplifies, and reports the tiles still over it', () => {
    for (let z = 6; z <= 13; z++) expect(missingAt('pbf-tight', z), `zoom ${z}`).toEqual([]);
    const budget = results.get('pbf-tight')?.budget;
    expect(budget?.overBudget).toBeGreaterThan(0);
    const over = budget?.adjusted.find((a) => a.over);
    expect(over).toMatchObject({ over: true, dropped: 0 });
    expect(over?.simplifiedTo).toBeGreaterThan(0);
    expect(over?.after).toBeGreaterThan(1024);
    expect(over?.after).toBeLessThanOrEqual(over?.before ?? 0);
  });

  it('with drop: smallest, meets the same budget by dropping the smallest, and says how many per tile', () => {
    const budget = results.get('pbf-tight-smallest')?.budget;
    expect(budget?.overBudget).toBe(0);
    expect(budget?.largestTileBytes).toBeLessThanOrEqual(1024);
    expect(budget?.adjusted.some((a) => a.dropped > 0 && !a.over)).toBe(true);
    // The large plots outrank the tiny ones: where anything was dropped, the large plots that touch the tile stayed.
    const byZoom = featuresByZoom(store, 'pbf-tight-smallest');
    for (const [, features] of byZoom) expect(features.some((f) => f.properties.JBNTLX === '01')).toBe(true);
  });
});

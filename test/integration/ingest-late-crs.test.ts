import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels } from '../helpers/fixtures.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';
import { GK117, writeZip } from '../fixtures/ingest/sources.js';

type Published = { result: PublishResult; hashes: Map<string, string>; bounds: number[] };

const crsMember = (name: string): unknown => ({ type: 'name', properties: { name } });

/** A FeatureCollection's text with its crs member first or after the features. */
function collection(features: Feature[], crs: string, where: 'first' | 'last'): string {
  const doc = where === 'first'
    ? { type: 'FeatureCollection', crs: crsMember(crs), features }
    : { type: 'FeatureCollection', features, crs: crsMember(crs) };
  return JSON.stringify(doc);
}

// A GeoJSON FeatureCollection's crs member (the 2008 "name" form Chinese GIS exports
// write) may come after the features: the layer must publish exactly as if it came first.
describe.each([0, 2])('a crs member after the features, %i tiling threads', (workers) => {
  let dir: string;
  const lonLat = makeParcels(8, 6);
  const toGk = proj4('+proj=longlat +ellps=GRS80 +no_defs', GK117);
  const gk: FeatureCollection<Polygon> = structuredClone(lonLat);
  for (const f of gk.features) f.geometry.coordinates = f.geometry.coordinates.map((r) => r.map((p) => toGk.forward(p as [number, number])));

  beforeAll(async () => {
    dir = makeTempDir('plantiles-late-crs-');
    writeFileSync(path.join(dir, 'gk-first.geojson'), collection(gk.features, 'urn:ogc:def:crs:EPSG::4548', 'first'));
    writeFileSync(path.join(dir, 'gk-last.geojson'), collection(gk.features, 'urn:ogc:def:crs:EPSG::4548', 'last'));
    await writeZip(path.join(dir, 'gk-last.zip'), { 'gk-last.geojson': path.join(dir, 'gk-last.geojson') });
    writeFileSync(path.join(dir, 'll-first.geojson'), collection(lonLat.features, 'urn:ogc:def:crs:OGC:1.3:CRS84', 'first'));
    writeFileSync(path.join(dir, 'll-last.geojson'), collection(lonLat.features, 'urn:ogc:def:crs:OGC:1.3:CRS84', 'last'));
  });
  afterAll(() => removeDir(dir));

  /** Publishes layer `parcels` from `source` into the store `storeDir` (in the test's folder). */
  const publish = async (storeDir: string, source: string, extra: Record<string, unknown> = {}): Promise<Published> => {
    const config = writeConfig(dir, {
      node: { id: 'n', title: 't' }, storage: { dir: storeDir },
      layers: [{ id: 'parcels', source, idField: 'BSM', minzoom: 10, maxzoom: 14, ...extra }],
    });
    const store = openSqliteStore(path.join(dir, storeDir));
    try {
      const result = await publishLayer(config.layers[0] as (typeof config.layers)[number], { store, keepVersions: 5, defaultAttribution: 't', workers });
      const layer = store.getLayer('parcels');
      const current = layer?.versions.find((v) => v.vid === layer.currentVid);
      return { result, hashes: currentTileHashes(store, 'parcels'), bounds: current?.meta.bounds ?? [] };
    } finally {
      store.close();
    }
  };

  it('publishes CGCS2000 Gauss-Kruger coordinates (EPSG:4548) to the same tiles as with the member first, from a .geojson or a zip', async () => {
    const first = await publish(`first-${workers}`, 'gk-first.geojson');
    expect(first.result.state).toBe('published');
    // Where the parcels were placed from: 115.95–116.03°E, 36.43–36.488°N.
    const [w, s, e, n] = first.bounds as [number, number, number, number];
    expect([w, s, e, n].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([115.95, 36.43, 116.028, 36.488]);
    for (const source of ['gk-last.geojson', 'gk-last.zip']) {
      const last = await publish(`${source}-${workers}`, source);
      expect(last.result.state, source).toBe('published');
      expect(last.bounds, source).toEqual(first.bounds);
      expect(last.hashes, source).toEqual(first.hashes);
    }
    // The layer's crs wins, as it does over a member that comes first.
    const configured = await publish(`configured-${workers}`, 'gk-last.geojson', { crs: 'EPSG:4548' });
    expect(configured.hashes).toEqual(first.hashes);
  });

  it('republishes the member moved after the features as unchanged, every record recalled from the memo', async () => {
    for (const [from, to] of [['ll-first.geojson', 'll-last.geojson'], ['gk-first.geojson', 'gk-last.geojson']] as const) {
      const storeDir = `moved-${path.basename(from, '.geojson')}-${workers}`;
      const first = await publish(storeDir, from);
      const again = await publish(storeDir, to);
      expect(again.result.state, to).toBe('unchanged');
      expect(again.result.recalledFeatures, to).toBe(lonLat.features.length);
      expect(again.hashes, to).toEqual(first.hashes);
    }
  });
});

// The command as a user runs it (the built CLI): a late crs member publishes; one that
// cannot be found before the features are read fails with one line saying what to set.
describe('plantiles publish of a FeatureCollection with its crs member after the features', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('plantiles-late-crs-cli-');
    const lonLat = makeParcels(3, 2);
    const toGk = proj4('+proj=longlat +ellps=GRS80 +no_defs', GK117);
    const gk: FeatureCollection<Polygon> = structuredClone(lonLat);
    for (const f of gk.features) f.geometry.coordinates = f.geometry.coordinates.map((r) => r.map((p) => toGk.forward(p as [number, number])));
    writeFileSync(path.join(dir, 'gk-last.geojson'), collection(gk.features, 'EPSG:4548', 'last'));
    // More than 2 MiB of other members after it: out of reach of the look at the end of the file.
    const far = JSON.stringify({ type: 'FeatureCollection', features: lonLat.features, crs: crsMember('EPSG:4490'), note: 'x'.repeat(3 << 20) });
    writeFileSync(path.join(dir, 'far.geojson'), far);
    writeConfig(dir, {
      node: { id: 'n', title: 't' }, storage: { dir: './store' },
      layers: [
        { id: 'gk', source: 'gk-last.geojson', idField: 'BSM', minzoom: 10, maxzoom: 12 },
        { id: 'far', source: 'far.geojson', idField: 'BSM', minzoom: 10, maxzoom: 12 },
      ],
    });
  });
  afterAll(() => removeDir(dir));

  const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['dist/src/cli/main.js', ...args, '--config', path.join(dir, 'plantiles.yaml')], { encoding: 'utf8' });

  it('publishes one, and fails the other naming the file, the member and the crs to set', () => {
    const gk = run('publish', 'gk');
    expect(gk.status, gk.stderr).toBe(0);
    expect(gk.stdout).toMatch(/^gk: published 1\.0\.0: 6 features/m);
    const far = run('publish', 'far');
    expect(far.status).toBe(1);
    expect(far.stderr.trim()).toMatch(/^plantiles: publish far failed: far\.geojson: the "crs" member \(EPSG:4490\) comes after the features, .* set crs: EPSG:4490 in the layer config, or move "crs" before "features"$/);
    expect(far.stderr.trim().split('\n')).toHaveLength(1);
  });
});

import path from 'node:path';
import * as shapefile from 'shapefile';
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo } from '../../pipeline/demo/generate-demo.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { cs2csToLonLat, hasCs2cs } from '../helpers/cs2cs.js';
import { decodeTile } from '../helpers/mvt.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

// The demo's real ingest path: GBK Shapefile in EPSG:4548 with a .prj, through to decoded tiles.
describe('demo city round trip', () => {
  let dir: string;
  let node: TestNode;
  let probe: { bsm: string; dlmc: string; ring: [number, number][] };

  beforeAll(async () => {
    dir = makeTempDir();
    await generateDemo(path.join(dir, 'demo'));
    const config = writeConfig(dir, {
      node: { id: 'demo', title: '合成演示 synthetic' },
      storage: { dir: './store' },
      layers: [
        { id: 'farmland', source: 'demo/farmland.shp', idField: 'BSM', minzoom: 10, maxzoom: 14 },
        { id: 'eco-redline', source: 'demo/eco-redline.geojson', crs: 'EPSG:4490', idField: 'BSM', minzoom: 6, maxzoom: 12 },
      ],
    });
    node = await startTestNode(config);
    await node.publish('farmland');
    await node.publish('eco-redline');
    const src = await shapefile.open(path.join(dir, 'demo/farmland.shp'), path.join(dir, 'demo/farmland.dbf'), { encoding: 'gbk' });
    const first = await src.read();
    const props = first.value.properties as { BSM: string; DLMC: string };
    probe = { bsm: props.BSM, dlmc: props.DLMC, ring: (first.value.geometry as Polygon).coordinates[0] as [number, number][] };
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  const fetchTile = async (layer: string, z: number, x: number, y: number): Promise<ReturnType<typeof decodeTile>> => {
    const res = await fetch(`${node.url}/tiles/${layer}/${z}/${x}/${y}.mvt`);
    expect(res.status).toBe(200);
    return decodeTile(new Uint8Array(await res.arrayBuffer()));
  };

  it.skipIf(!hasCs2cs)('puts a known parcel where the source put it, to within a tile pixel at maxzoom (checked with PROJ cs2cs)', async () => {
    const lonlat = cs2csToLonLat('EPSG:4548', probe.ring);
    const [lon0, lat0] = lonlat[0] as [number, number];
    const z = 14;
    const t = tileForLonLat(lon0, lat0, z);
    const layers = await fetchTile('farmland', z, t.x, t.y);
    const feature = layers.farmland?.features.find((f) => f.id === featureIdFor(probe.bsm));
    expect(feature, `parcel ${probe.bsm} in tile ${z}/${t.x}/${t.y}`).toBeDefined();
    expect(feature?.properties.BSM).toBe(probe.bsm);
    expect(feature?.properties.DLMC).toBe(probe.dlmc);
    const extent = layers.farmland?.extent ?? 4096;
    const pixel = extent / 256;
    const decoded = feature?.geometry.flat() ?? [];
    for (const [lon, lat] of lonlat) {
      const { px, py } = toTilePixel(lon, lat, z, t.x, t.y, extent);
      const nearest = Math.min(...decoded.map((p) => Math.hypot(p.x - px, p.y - py)));
      expect(nearest).toBeLessThanOrEqual(pixel);
    }
  });

  it('keeps Chinese attribute text intact and geometry inside extent + buffer', async () => {
    const [lon, lat] = cs2csOrProj(probe.ring[0] as [number, number]);
    const t = tileForLonLat(lon, lat, 12);
    const layers = await fetchTile('farmland', 12, t.x, t.y);
    const features = layers.farmland?.features ?? [];
    expect(features.length).toBeGreaterThan(20);
    const names = new Set(features.map((f) => f.properties.DLMC));
    for (const name of names) expect(name).toMatch(/^[\u4e00-\u9fff]+$/);
    for (const f of features) {
      expect(String(f.properties.XZQDM)).toMatch(/^3715\d\d$/);
      for (const p of f.geometry.flat()) {
        expect(p.x).toBeGreaterThanOrEqual(-64);
        expect(p.x).toBeLessThanOrEqual(4096 + 64);
        expect(p.y).toBeGreaterThanOrEqual(-64);
        expect(p.y).toBeLessThanOrEqual(4096 + 64);
      }
    }
  });

  it('tiles the GeoJSON layer, keeping polygon holes', async () => {
    const catalog = (await (await fetch(`${node.url}/catalog`)).json()) as { layers: { id: string; bounds: number[] }[] };
    const eco = catalog.layers.find((l) => l.id === 'eco-redline');
    expect(eco?.bounds[0]).toBeGreaterThan(115);
    expect(eco?.bounds[2]).toBeLessThan(117);
    const res = await fetch(`${node.url}/tiles/eco-redline/6/52/25.mvt`);
    expect(res.status).toBe(200);
    const features = decodeTile(new Uint8Array(await res.arrayBuffer()))['eco-redline']?.features ?? [];
    expect(features.length).toBeGreaterThan(0);
  });
});

function cs2csOrProj(p: [number, number]): [number, number] {
  return hasCs2cs ? (cs2csToLonLat('EPSG:4548', [p])[0] as [number, number]) : [115.98, 36.45];
}

function toTilePixel(lon: number, lat: number, z: number, x: number, y: number, extent: number): { px: number; py: number } {
  const n = 2 ** z;
  const wx = ((lon + 180) / 360) * n;
  const r = (lat * Math.PI) / 180;
  const wy = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  return { px: (wx - x) * extent, py: (wy - y) * extent };
}

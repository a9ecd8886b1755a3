import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Feature, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { decodeTile } from '../helpers/mvt.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';
import { hasOgr2ogr, ogrToGpkg, writeNdjson, writeParcelShapefile, writeZip } from '../fixtures/ingest/sources.js';

// Every source format through the real publish path to tiles served over HTTP,
// decoded: the same parcels must come out with the same ids, renamed attributes
// and positions; the validation summary reaches PublishResult and the CLI.
describe('ingest through publish', () => {
  let dir: string;
  let node: TestNode;
  const probe = tileForLonLat(115.955, 36.435, 13);

  beforeAll(async () => {
    dir = makeTempDir('plantiles-ingest-pub-');
    const fc = makeParcels(3, 2);
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    writeNdjson(path.join(dir, 'parcels.ndjson'), fc);
    writeParcelShapefile(path.join(dir, 'parcels'), fc);
    await writeZip(path.join(dir, 'parcels.zip'), Object.fromEntries(['shp', 'shx', 'dbf', 'prj', 'cpg'].map((e) => [`parcels.${e}`, path.join(dir, `parcels.${e}`)])));
    if (hasOgr2ogr) ogrToGpkg(path.join(dir, 'parcels.geojson'), path.join(dir, 'parcels.gpkg'), '-t_srs', 'EPSG:4548');
    const withBad = makeParcels(3, 2);
    const ring = (withBad.features[4] as Feature<Polygon>).geometry.coordinates[0] as number[][];
    ring[ring.length - 1] = [116.5, 36.5]; // unclosed: left out under skip
    writeGeojson(path.join(dir, 'skipping.geojson'), withBad);
    const common = { idField: 'BSM', minzoom: 10, maxzoom: 13, fields: { BSM: 'BSM', DLMC: '地类名称', TBMJ: 'TBMJ' } };
    const layers = [
      { id: 'geojson', source: 'parcels.geojson', ...common },
      { id: 'ndjson', source: 'parcels.ndjson', ...common },
      { id: 'shp', source: 'parcels.shp', ...common },
      { id: 'zip', source: 'parcels.zip', ...common },
      ...(hasOgr2ogr ? [{ id: 'gpkg', source: 'parcels.gpkg', ...common }] : []),
      { id: 'skipping', source: 'skipping.geojson', ...common, onInvalid: { geometry: 'skip' } },
    ];
    node = await startTestNode(writeConfig(dir, { node: { id: 'n', title: 'n' }, storage: { dir: './store' }, layers }));
    await node.publish('geojson');
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  type Decoded = Map<number, { props: Record<string, unknown>; points: { x: number; y: number }[] }>;
  const decoded = async (layer: string): Promise<Decoded> => {
    const res = await fetch(`${node.url}/tiles/${layer}/13/${probe.x}/${probe.y}.mvt`);
    expect(res.status, layer).toBe(200);
    const tile = decodeTile(new Uint8Array(await res.arrayBuffer()));
    const out: Decoded = new Map();
    for (const f of tile[layer]?.features ?? []) out.set(f.id as number, { props: f.properties, points: f.geometry.flat() });
    return out;
  };

  for (const id of ['geojson', 'ndjson', 'shp', 'zip', 'gpkg']) {
    it.skipIf(id === 'gpkg' && !hasOgr2ogr)(`${id}: publishes the parcels with stable ids, renamed attributes and the same positions`, async () => {
      const result = await node.publish(id);
      expect(result).toMatchObject({ version: '1.0.0', features: 6 });
      expect(result.validation).toMatchObject({ read: 6, skipped: 0, warned: 0, counts: {} });
      const reference = await decoded('geojson');
      const tile = await decoded(id);
      const bsm = '371502000000000001';
      const feature = tile.get(featureIdFor(bsm));
      expect(feature?.props).toEqual({ BSM: bsm, 地类名称: '水田', TBMJ: 1000 });
      // Every vertex lands within a tile unit of the GeoJSON original's: reprojection from EPSG:4548 puts it on the same spot.
      for (const [fid, ref] of reference) {
        const here = tile.get(fid)?.points ?? [];
        for (const p of ref.points) expect(Math.min(...here.map((q) => Math.hypot(q.x - p.x, q.y - p.y))), `${id} feature ${fid}`).toBeLessThanOrEqual(1);
      }
      expect([...tile.keys()].sort()).toEqual([...reference.keys()].sort());
    });
  }

  it('skips invalid features under onInvalid skip and reports them in the result', async () => {
    const result = await node.publish('skipping');
    expect(result.features).toBe(5);
    expect(result.validation).toMatchObject({ read: 6, skipped: 1, counts: { 'unclosed-ring': 1 } });
    expect(result.validation.examples).toEqual([{ feature: 'BSM=371502000000000005', code: 'unclosed-ring', problem: 'exterior ring is not closed (first and last points differ)', action: 'skipped' }]);
    expect((await decoded('skipping')).has(featureIdFor('371502000000000005'))).toBe(false);
  });

  it('the CLI prints the validation summary, and --json carries it', () => {
    const run = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', path.join(dir, 'plantiles.yaml'), ...args], { encoding: 'utf8' });
    const plain = run('publish', 'skipping');
    expect(plain.status, String(plain.stderr)).toBe(0);
    expect(String(plain.stdout)).toMatch(/skipping: validation: 1 skipped, 0 kept with warnings \(unclosed-ring 1\)\n {2}BSM=371502000000000005: exterior ring is not closed \(first and last points differ\) \[skipped\]/);
    const json = run('publish', 'skipping', '--json');
    const result = String(json.stdout).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'result');
    expect(result?.validation).toMatchObject({ skipped: 1, counts: { 'unclosed-ring': 1 } });
  });
});

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

const hasOgrinfo = spawnSync('ogrinfo', ['--version'], { encoding: 'utf8' }).status === 0;
const NO_GDAL = 'ogrinfo (GDAL) not installed: apt-get install gdal-bin';

const cli = (dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', path.join(dir, 'plantiles.yaml'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Web Mercator metres of a longitude/latitude (what GDAL reports MBTiles vector extents in). */
function mercator(lon: number, lat: number): [number, number] {
  const r = 6378137;
  return [(lon * Math.PI * r) / 180, r * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))];
}

describe('MBTiles export', () => {
  let dir: string;
  let file: string;
  const parcels = makeParcels(12, 10);

  beforeAll(() => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), parcels);
    writeConfig(dir, parcelConfig());
    expect(cli(dir, 'publish', 'parcels').status).toBe(0);
    file = path.join(dir, 'parcels.mbtiles');
    const r = cli(dir, 'export', 'parcels@1.0.0', file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/parcels@1\.0\.0: \d+ tiles written to .*parcels\.mbtiles \(mbtiles/);
  });
  afterAll(() => removeDir(dir));

  it('holds the metadata of MBTiles 1.3 with vector_layers in json', () => {
    const db = new Database(file, { readonly: true });
    try {
      const meta = Object.fromEntries((db.prepare('SELECT name, value FROM metadata').all() as { name: string; value: string }[]).map((r) => [r.name, r.value]));
      expect(meta).toMatchObject({ format: 'pbf', minzoom: '8', maxzoom: '13', version: '1.0.0', type: 'overlay', name: '耕地图斑' });
      expect(meta.bounds?.split(',').map(Number)).toHaveLength(4);
      expect(meta.center?.split(',').map(Number)).toHaveLength(3);
      const json = JSON.parse(meta.json ?? '{}') as { vector_layers: { id: string; fields: Record<string, string>; minzoom: number; maxzoom: number }[]; tilestats: unknown };
      expect(json.vector_layers).toEqual([expect.objectContaining({ id: 'parcels', minzoom: 8, maxzoom: 13, fields: expect.objectContaining({ BSM: 'String', TBMJ: 'Number' }) })]);
      // mapbox-geostats' summary, as tippecanoe writes it: GDAL takes the layer's geometry type from it.
      expect(json.tilestats).toEqual({
        layerCount: 1,
        layers: [expect.objectContaining({ layer: 'parcels', count: parcels.features.length, geometry: 'Polygon', attributeCount: 5, attributes: expect.arrayContaining([{ attribute: 'BSM', type: 'string' }, { attribute: 'TBMJ', type: 'number' }]) })],
      });
    } finally {
      db.close();
    }
  });

  it('stores every tile of the version gzip-compressed at its TMS row', () => {
    const store = openSqliteStore(path.join(dir, 'store'));
    const db = new Database(file, { readonly: true });
    try {
      const vid = store.getLayer('parcels')?.currentVid ?? -1;
      const row = db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?');
      let count = 0;
      for (const t of store.iterateTiles(vid)) {
        const got = row.get(t.z, t.x, 2 ** t.z - 1 - t.y) as { tile_data: Buffer } | undefined;
        expect(got?.tile_data.equals(t.gz), `${t.z}/${t.x}/${t.y}`).toBe(true);
        expect(got?.tile_data.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
        count++;
      }
      expect((db.prepare('SELECT count(*) AS n FROM tiles').get() as { n: number }).n).toBe(count);
      const index = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tiles'").get() as { sql: string };
      expect(index.sql).toMatch(/UNIQUE INDEX tile_index ON tiles \(zoom_level, tile_column, tile_row\)/);
    } finally {
      db.close();
      store.close();
    }
  });

  it.skipIf(!hasOgrinfo)(`is read by GDAL's MBTiles driver: the layer, its fields, its extent, every parcel (${NO_GDAL} to run)`, () => {
    const summary = spawnSync('ogrinfo', ['-ro', '-so', file, 'parcels'], { encoding: 'utf8' });
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/using driver `MBTiles'/);
    expect(summary.stdout).toMatch(/Layer name: parcels/);
    for (const field of ['BSM: String', 'DLMC: String', 'TBMJ: Real']) expect(summary.stdout).toContain(field);
    const extent = /Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)/.exec(summary.stdout);
    const [x0, y0] = mercator(115.95, 36.43);
    const [x1, y1] = mercator(116.068, 36.528);
    expect(Number(extent?.[1])).toBeCloseTo(x0, -2);
    expect(Number(extent?.[2])).toBeCloseTo(y0, -2);
    expect(Number(extent?.[3])).toBeCloseTo(x1, -2);
    expect(Number(extent?.[4])).toBeCloseTo(y1, -2);
    const all = spawnSync('ogrinfo', ['-ro', '-al', '-q', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(all.status, all.stderr).toBe(0);
    const seen = new Set([...all.stdout.matchAll(/BSM \(String\) = (\d+)/g)].map((m) => m[1]));
    expect(seen).toEqual(new Set(parcels.features.map((f) => String(f.properties?.BSM))));
    expect(all.stdout).toContain('DLMC (String) = 水浇地');
  });

  it('refuses an unknown layer with exit 1 naming it, and a malformed spec with exit 2', () => {
    const unknown = cli(dir, 'export', 'nosuch', path.join(dir, 'x.mbtiles'));
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/layer "nosuch" has no published version/);
    const bad = cli(dir, 'export', 'parcels@latest', path.join(dir, 'x.mbtiles'));
    expect(bad.status).toBe(2);
  });

  it('refuses an existing file unless --force, and a missing or non-folder parent, with one line and nothing left behind', () => {
    const again = cli(dir, 'export', 'parcels', file);
    expect(again.status).toBe(1);
    expect(again.stderr.trim().split('\n')).toEqual([`plantiles: ${file}: already exists (give --force to replace it)`]);
    expect(cli(dir, 'export', 'parcels', file, '--force').status).toBe(0);
    const notFolder = path.join(dir, 'parcels.geojson', 'x.pmtiles');
    const missing = path.join(dir, 'nosuch', 'x.pmtiles');
    mkdirSync(path.join(dir, 'taken.mbtiles'));
    for (const [target, message] of [
      [notFolder, `${path.join(dir, 'parcels.geojson')} is not a folder`],
      [missing, `the folder ${path.join(dir, 'nosuch')} does not exist`],
      [path.join(dir, 'taken.mbtiles'), 'is a folder'],
    ] as const) {
      const r = cli(dir, 'export', 'parcels', target);
      expect(r.status, target).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`plantiles: ${target}: ${message}`]);
    }
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('removes the temporary files an export killed midway left (its process has ended)', () => {
    const target = path.join(dir, 'again.pmtiles');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    for (const suffix of ['', '.bodies', '.data']) writeFileSync(`${target}.partial-${dead}${suffix}`, 'left by a killed export');
    expect(cli(dir, 'export', 'parcels', target).status).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('again.pmtiles'))).toEqual(['again.pmtiles']);
  });
});

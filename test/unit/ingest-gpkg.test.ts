import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestLayer } from '../../pipeline/ingest/ingest-layer.js';
import { parseGpkgGeometry, parseWkb, WkbError } from '../../pipeline/ingest/parse-wkb.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { hasOgr2ogr, ogrToGpkg } from '../fixtures/ingest/sources.js';

/** Builds WKB by hand: byte order, type code, then counts and doubles. */
function wkb(little: boolean, type: number, body: (number | ['u32', number])[]): Buffer {
  const parts: Buffer[] = [Buffer.from([little ? 1 : 0])];
  const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); if (little) b.writeUInt32LE(v >>> 0); else b.writeUInt32BE(v >>> 0); return b; };
  parts.push(u32(type));
  for (const item of body) {
    if (Array.isArray(item)) parts.push(u32(item[1]));
    else { const b = Buffer.alloc(8); if (little) b.writeDoubleLE(item); else b.writeDoubleBE(item); parts.push(b); }
  }
  return Buffer.concat(parts);
}

/** Wraps WKB in a GeoPackage header (little-endian, envelope code given). */
function gpkgBlob(body: Buffer, envelope = 0, srsId = 4326, empty = false): Buffer {
  const sizes = [0, 32, 48, 48, 64];
  const header = Buffer.alloc(8 + (sizes[envelope] ?? 0));
  header.write('GP', 0, 'latin1');
  header[3] = 0x01 | (envelope << 1) | (empty ? 0x10 : 0);
  header.writeInt32LE(srsId, 4);
  return Buffer.concat([header, body]);
}

describe('WKB and GeoPackage geometry blobs', () => {
  it('reads every simple type in both byte orders, dropping Z and M (ISO and extended codes)', () => {
    for (const little of [true, false]) {
      expect(parseWkb(wkb(little, 1, [116, 36]))).toEqual({ type: 'Point', coordinates: [116, 36] });
      expect(parseWkb(wkb(little, 1001, [116, 36, 50]))).toEqual({ type: 'Point', coordinates: [116, 36] });
      expect(parseWkb(wkb(little, 3001, [116, 36, 50, 7]))).toEqual({ type: 'Point', coordinates: [116, 36] });
      expect(parseWkb(wkb(little, 0x80000002, [['u32', 2], 1, 2, 9, 3, 4, 9]))).toEqual({ type: 'LineString', coordinates: [[1, 2], [3, 4]] });
      expect(parseWkb(wkb(little, 2003, [['u32', 1], ['u32', 4], 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1]))).toEqual({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] });
    }
    const point = wkb(true, 1, [5, 6]);
    const ring = wkb(true, 3, [['u32', 1], ['u32', 4], 0, 0, 1, 0, 1, 1, 0, 0]);
    const count = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
    expect(parseWkb(Buffer.concat([Buffer.from([1]), count(4), count(2), point, point]))).toEqual({ type: 'MultiPoint', coordinates: [[5, 6], [5, 6]] });
    expect(parseWkb(Buffer.concat([Buffer.from([1]), count(6), count(2), ring, ring])).type).toBe('MultiPolygon');
    expect(parseWkb(Buffer.concat([Buffer.from([1]), count(7), count(1), point])).type).toBe('GeometryCollection');
    expect(parseWkb(wkb(true, 1, [NaN, NaN]))).toEqual({ type: 'Point', coordinates: [] });
    expect(parseWkb(wkb(true, 8, [['u32', 0]]))).toEqual({ type: 'CircularString', coordinates: [] });
  });

  it('refuses damaged blobs with a reason instead of allocating on a bogus count', () => {
    expect(() => parseWkb(wkb(true, 2, [['u32', 1_000_000_000], 1, 2]))).toThrow(/WKB is truncated: 1000000000 points need/);
    expect(() => parseWkb(Buffer.from([7, 1, 0, 0, 0]))).toThrow(/invalid byte order mark 7/);
    expect(() => parseGpkgGeometry(Buffer.from('XX123456'))).toThrow(WkbError);
    expect(parseGpkgGeometry(gpkgBlob(wkb(true, 1, [1, 2]), 1, 4548)).srsId).toBe(4548);
    expect(parseGpkgGeometry(gpkgBlob(wkb(true, 1, [1, 2]), 2)).geometry).toEqual({ type: 'Point', coordinates: [1, 2] });
    expect(parseGpkgGeometry(null).geometry).toBeNull();
  });
});

describe('GeoPackage ingest', () => {
  let dir: string;
  let geojson: string;
  beforeAll(() => {
    dir = makeTempDir('plantiles-gpkg-');
    geojson = path.join(dir, 'parcels.geojson');
    const fc = makeParcels(3, 2);
    fc.features.forEach((f, i) => {
      if (!f.properties) return;
      f.properties.JBNT = i % 2 === 0;
      f.properties.PZRQ = '2024-02-29';
      f.geometry.coordinates = f.geometry.coordinates.map((r) => r.map((p) => [...p, 30 + i]));
    });
    // A BSM as a JSON integer beyond 2^53: GDAL stores it as an Integer64 column.
    writeGeojson(geojson, fc);
    writeFileSync(path.join(dir, 'big.geojson'), JSON.stringify(fc).replace('"BSM":"371502000000000001"', '"BSM2":371502000000000001,"BSM":"371502000000000001"'));
  });
  afterAll(() => removeDir(dir));

  it.skipIf(!hasOgr2ogr)('reads a GeoPackage ogr2ogr wrote in EPSG:4548 (XYZ): CRS from gpkg_spatial_ref_sys, positions within 1 cm', async () => {
    const gpkg = path.join(dir, 'gk.gpkg');
    ogrToGpkg(geojson, gpkg, '-t_srs', 'EPSG:4548', '-nln', 'parcels');
    const layer = await ingestLayer({ source: gpkg, idField: 'BSM' });
    expect(layer.crs).toMatch(/^EPSG:4548 /);
    expect(layer.features).toHaveLength(6);
    const original = makeParcels(3, 2);
    layer.features.forEach((f, i) => {
      const got = (f.geometry as Polygon).coordinates[0] ?? [];
      const want = original.features[i]?.geometry.coordinates[0] ?? [];
      expect(got.every((p) => p.length === 2)).toBe(true);
      got.forEach((p, k) => {
        expect(Math.abs((p[0] as number) - (want[k]?.[0] as number)) * 90_000).toBeLessThan(0.01);
        expect(Math.abs((p[1] as number) - (want[k]?.[1] as number)) * 110_574).toBeLessThan(0.01);
      });
    });
    expect(layer.features[0]?.properties).toMatchObject({ BSM: '371502000000000001', DLMC: '水田', TBMJ: 1000, JBNT: true, PZRQ: '2024-02-29' });
    expect(layer.features[1]?.properties.JBNT).toBe(false);
    expect(layer.fields).toMatchObject({ JBNT: 'Boolean', TBMJ: 'Number' });
  });

  it.skipIf(!hasOgr2ogr)('keeps an Integer64 beyond 2^53 digit for digit', async () => {
    const gpkg = path.join(dir, 'big.gpkg');
    ogrToGpkg(path.join(dir, 'big.geojson'), gpkg);
    const layer = await ingestLayer({ source: gpkg });
    expect(layer.features[0]?.properties.BSM2).toBe('371502000000000001');
  });

  it.skipIf(!hasOgr2ogr)('asks for sourceLayer when there are several feature tables, and reads the one named', async () => {
    const gpkg = path.join(dir, 'two.gpkg');
    ogrToGpkg(geojson, gpkg, '-nln', 'farmland');
    ogrToGpkg(geojson, gpkg, '-update', '-nln', 'pbf', '-where', "DLBM = '0101'");
    await expect(ingestLayer({ source: gpkg })).rejects.toThrow('two.gpkg: has 2 feature tables (farmland, pbf); set the layer\'s sourceLayer');
    expect((await ingestLayer({ source: gpkg, sourceLayer: 'pbf' })).features).toHaveLength(2);
    await expect(ingestLayer({ source: gpkg, sourceLayer: 'nope' })).rejects.toThrow(/has no feature table "nope" \(it has: farmland, pbf\)/);
  });

  it.skipIf(!hasOgr2ogr)('refuses an undefined SRS unless the layer sets crs', async () => {
    const gpkg = path.join(dir, 'nosrs.gpkg');
    ogrToGpkg(geojson, gpkg);
    const db = new Database(gpkg);
    db.prepare('UPDATE gpkg_geometry_columns SET srs_id = 0').run();
    db.close();
    await expect(ingestLayer({ source: gpkg })).rejects.toThrow("nosrs.gpkg: no CRS: the GeoPackage's SRS is undefined (srs_id 0) and the layer config sets no crs");
    expect((await ingestLayer({ source: gpkg, crs: 'EPSG:4490' })).features).toHaveLength(6);
  });
});

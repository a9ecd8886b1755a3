import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Polygon, MultiPolygon, Position } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestLayer } from '../../pipeline/ingest/ingest-layer.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { cs2csToLonLat, hasCs2cs } from '../helpers/cs2cs.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { writeRawShapefile, type RawShapefile } from '../fixtures/ingest/raw-shapefile.js';
import { GK117, hasOgr2ogr, parcelShapefile, PRJ_4548, writeParcelShapefile, writeZip } from '../fixtures/ingest/sources.js';
import proj4 from 'proj4';

describe('Shapefile ingest', () => {
  let dir: string;
  beforeAll(() => { dir = makeTempDir('plantiles-shp-'); });
  afterAll(() => removeDir(dir));

  const base = (name: string): string => path.join(dir, name);
  const toGk = (lon: number, lat: number): [number, number] => proj4('+proj=longlat +ellps=GRS80 +no_defs', GK117).forward([lon, lat]) as [number, number];

  it.skipIf(!hasCs2cs)('reads a GBK Shapefile in EPSG:4548 (.prj, .cpg): exact attributes, every vertex within 1 cm of cs2cs', async () => {
    const raw = parcelShapefile();
    writeRawShapefile(base('parcels'), raw);
    const layer = await ingestLayer({ source: `${base('parcels')}.shp`, idField: 'BSM' });
    expect(layer.crs).toMatch(/^EPSG:4548 /);
    expect(layer.encoding).toBe('GBK (from parcels.cpg)');
    expect(layer.features).toHaveLength(6);
    expect(layer.fields).toEqual({ BSM: 'String', DLBM: 'String', DLMC: 'String', TBMJ: 'Number', XZQDM: 'String' });
    const first = layer.features[0];
    expect(first?.properties).toEqual({ BSM: '371502000000000001', DLBM: '0101', DLMC: '水田', TBMJ: 1000, XZQDM: '371502' });
    expect(first?.id).toBe(featureIdFor('371502000000000001'));
    raw.shapes.forEach((shape, i) => {
      const expected = cs2csToLonLat('EPSG:4548', shape.parts[0] as [number, number][]);
      const got = (layer.features[i]?.geometry as Polygon).coordinates[0] as Position[];
      expected.forEach(([lon, lat], k) => {
        const p = got[k] as [number, number];
        expect(Math.abs(p[0] - lon) * 111_320 * Math.cos((lat * Math.PI) / 180)).toBeLessThan(0.01);
        expect(Math.abs(p[1] - lat) * 110_574).toBeLessThan(0.01);
      });
    });
  });

  it('assembles rings ESRI\'s way: clockwise outers, holes to the outer that holds them', async () => {
    const square = (x: number, y: number, s: number, clockwise: boolean): [number, number][] => {
      const ring: [number, number][] = [toGk(x, y), toGk(x + s, y), toGk(x + s, y + s), toGk(x, y + s), toGk(x, y)];
      return clockwise ? ring.reverse() : ring;
    };
    writeRawShapefile(base('holes'), {
      shapeType: 5,
      // Outer A, outer B, a hole inside B listed before A's hole, a hole inside A.
      shapes: [{ type: 5, parts: [square(116, 36, 0.1, true), square(116.5, 36, 0.1, true), square(116.52, 36.02, 0.02, false), square(116.02, 36.02, 0.02, false)] }],
      fields: [{ name: 'BSM', type: 'C', length: 18 }], records: [['1']], prj: PRJ_4548,
    });
    const layer = await ingestLayer({ source: `${base('holes')}.shp` });
    const g = layer.features[0]?.geometry as MultiPolygon;
    expect(g.type).toBe('MultiPolygon');
    expect(g.coordinates.map((p) => p.length)).toEqual([2, 2]);
    expect((g.coordinates[0]?.[1]?.[0]?.[0] ?? 0)).toBeCloseTo(116.02, 6);
    expect((g.coordinates[1]?.[1]?.[0]?.[0] ?? 0)).toBeCloseTo(116.52, 6);
  });

  it('reads points, multipoints and lines (single and multi-part)', async () => {
    const p = (lon: number, lat: number): [number, number] => toGk(lon, lat);
    for (const [name, shapeType, parts, type] of [
      ['pt', 1, [[p(116, 36)]], 'Point'],
      ['mpt', 8, [[p(116, 36), p(116.1, 36.1)]], 'MultiPoint'],
      ['line', 3, [[p(116, 36), p(116.1, 36.1)]], 'LineString'],
      ['mline', 3, [[p(116, 36), p(116.1, 36.1)], [p(116.2, 36), p(116.3, 36.1)]], 'MultiLineString'],
    ] as const) {
      writeRawShapefile(base(name), { shapeType, shapes: [{ type: shapeType, parts: parts as unknown as [number, number][][] }], fields: [{ name: 'N', type: 'N', length: 4 }], records: [[1]], prj: PRJ_4548 });
      const layer = await ingestLayer({ source: `${base(name)}.shp` });
      expect(layer.features[0]?.geometry.type, name).toBe(type);
      expect(layer.bounds[0], name).toBeCloseTo(116, 6);
    }
  });

  it('reads a .cpg saved with a byte-order mark (as Windows Notepad writes it)', async () => {
    writeRawShapefile(base('bom'), {
      shapeType: 1, shapes: [{ type: 1, parts: [[toGk(116, 36)]] }], prj: PRJ_4548, cpg: '\uFEFFGBK',
      fields: [{ name: 'DLMC', type: 'C', length: 20 }], records: [['水田']],
    });
    const layer = await ingestLayer({ source: `${base('bom')}.shp` });
    expect(layer.encoding).toBe('GBK (from bom.cpg)');
    expect(layer.features[0]?.properties).toEqual({ DLMC: '水田' });
  });

  it('maps DBF types: N/F numbers, an N(18,0) BSM kept digit for digit, C trimmed, D as ISO date, L boolean, blanks absent', async () => {
    const shapes = [0, 1, 2].map((i) => ({ type: 1, parts: [[toGk(116 + i * 0.01, 36)]] }));
    writeRawShapefile(base('types'), {
      shapeType: 1, shapes, prj: PRJ_4548, cpg: 'UTF-8', encoding: 'utf8',
      fields: [
        { name: 'BSM', type: 'N', length: 18 }, { name: 'MJ', type: 'N', length: 12, decimals: 2 }, { name: 'XS', type: 'F', length: 10, decimals: 4 },
        { name: 'MC', type: 'C', length: 20 }, { name: 'PZRQ', type: 'D', length: 8 }, { name: 'SFJBNT', type: 'L', length: 1 },
      ],
      records: [
        ['371502000000000001', 1234.5, 0.25, '  水田  ', '20240229', 'T'],
        ['9007199254740993', '', '', '', '', '?'],
        [Buffer.from('*****************'), '-12.75', '1e3', 'x', '        ', 'n'],
      ],
    });
    const layer = await ingestLayer({ source: `${base('types')}.shp` });
    expect(layer.features.map((f) => f.properties)).toEqual([
      { BSM: '371502000000000001', MJ: 1234.5, XS: 0.25, MC: '水田', PZRQ: '2024-02-29', SFJBNT: true },
      { BSM: '9007199254740993' },
      { MJ: -12.75, XS: 1000, MC: 'x', SFJBNT: false },
    ]);
    expect(layer.fields).toMatchObject({ BSM: 'String', MJ: 'Number', PZRQ: 'String', SFJBNT: 'Boolean' });
    expect(layer.validation.counts).toEqual({});
  });

  it('blames a damaged .shx entry on the index, not on the geometry (which onInvalid could skip)', async () => {
    for (const [name, offset, length] of [['shx-negative', -5, 10], ['shx-huge', 50, 0x7fffffff]] as const) {
      writeParcelShapefile(base(name));
      const shxFile = path.join(dir, `${name}.shx`);
      const shx = (await import('node:fs')).readFileSync(shxFile);
      shx.writeInt32BE(offset, 100 + 8 * 3);
      shx.writeInt32BE(length, 104 + 8 * 3);
      writeFileSync(shxFile, shx);
      const read = ingestLayer({ source: path.join(dir, `${name}.shp`), idField: 'BSM', onInvalid: { geometry: 'skip' } });
      await expect(read, name).rejects.toThrow(new RegExp(`^${name}\\.shp: feature #3: the \\.shx index is damaged at record 4 \\(offset ${offset * 2}, length ${length * 2}\\)$`));
    }
  });

  it('says a .prj that is there but empty is empty, not missing', async () => {
    writeParcelShapefile(base('emptyprj'));
    writeFileSync(path.join(dir, 'emptyprj.prj'), '  \r\n');
    await expect(ingestLayer({ source: path.join(dir, 'emptyprj.shp') })).rejects.toThrow('emptyprj.shp: no CRS: its emptyprj.prj is empty and the layer config sets no crs');
  });

  it('leaves out records marked deleted in the .dbf', async () => {
    writeParcelShapefile(base('deleted'));
    const dbf = path.join(dir, 'deleted.dbf');
    const bytes = (await import('node:fs')).readFileSync(dbf);
    const headerLength = bytes.readUInt16LE(8);
    const recordLength = bytes.readUInt16LE(10);
    bytes[headerLength + recordLength] = 0x2a; // the second record
    writeFileSync(dbf, bytes);
    const layer = await ingestLayer({ source: path.join(dir, 'deleted.shp'), idField: 'BSM' });
    expect(layer.features.map((f) => f.properties.BSM)).toEqual(['371502000000000001', '371502000000000003', '371502000000000004', '371502000000000005', '371502000000000006']);
  });

  it('reads a zipped Shapefile and removes what it unpacked', async () => {
    writeParcelShapefile(base('zipped'));
    const files = Object.fromEntries(['shp', 'shx', 'dbf', 'prj', 'cpg'].map((e) => [`data/zipped.${e}`, path.join(dir, `zipped.${e}`)]));
    const zip = path.join(dir, 'zipped.zip');
    await writeZip(zip, files);
    const layer = await ingestLayer({ source: zip, idField: 'BSM' });
    expect(layer.features).toHaveLength(6);
    expect(layer.features[2]?.properties.DLMC).toBe('旱地');
    expect(readdirSync(dir).filter((f) => f.startsWith('.plantiles-unzip-'))).toEqual([]);
    rmSync(path.join(dir, 'zipped.prj'));
    await writeZip(zip, { 'zipped.shp': path.join(dir, 'zipped.shp'), 'zipped.shx': path.join(dir, 'zipped.shx'), 'zipped.dbf': path.join(dir, 'zipped.dbf') });
    await expect(ingestLayer({ source: zip })).rejects.toThrow('zipped.zip/zipped.shp: no CRS: the shapefile has no .prj and the layer config sets no crs');
    expect(readdirSync(dir).filter((f) => f.startsWith('.plantiles-unzip-'))).toEqual([]);
  });

  it.skipIf(!hasOgr2ogr)('reads a Shapefile GDAL wrote (PolygonZ, its own .prj and .cpg)', async () => {
    const src = path.join(dir, 'gdal.geojson');
    const fc = makeParcels(2, 2);
    for (const f of fc.features) f.geometry.coordinates = f.geometry.coordinates.map((r) => r.map((p) => [...p, 12.5]));
    writeGeojson(src, fc);
    const out = path.join(dir, 'gdal.shp');
    const r = spawnSync('ogr2ogr', ['-f', 'ESRI Shapefile', out, src, '-t_srs', 'EPSG:4548', '-lco', 'ENCODING=GBK'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const layer = await ingestLayer({ source: out, idField: 'BSM' });
    expect(layer.crs).toMatch(/^EPSG:4548 /);
    expect(layer.encoding).toMatch(/^GBK/);
    expect(layer.features.map((f) => f.properties.DLMC)).toEqual(['水田', '水浇地', '旱地', '水田']);
    const ring = (layer.features[0]?.geometry as Polygon).coordinates[0] as Position[];
    expect(ring.every((p) => p.length === 2)).toBe(true);
    expect(Math.min(...ring.map((p) => p[0] as number))).toBeCloseTo(115.95, 7);
  });
});

describe('DBF text encodings', () => {
  let dir: string;
  beforeAll(() => { dir = makeTempDir('plantiles-enc-'); });
  afterAll(() => removeDir(dir));

  const names = ['水田', '𠀾地块', '林地'];
  const write = (name: string, over: Partial<RawShapefile>): string => {
    const base = path.join(dir, name);
    const fc = makeParcels(3, 1);
    fc.features.forEach((f, i) => { if (f.properties) f.properties.DLMC = names[i] ?? ''; });
    writeRawShapefile(base, parcelShapefile(fc, { cpg: undefined, ...over }));
    return `${base}.shp`;
  };
  const read = async (source: string, encoding?: string): Promise<string[]> =>
    (await ingestLayer({ source, idField: 'BSM', encoding })).features.map((f) => String(f.properties.DLMC));

  it('GB18030 from .cpg (a 4-byte character survives), from config, and detected', async () => {
    expect(await read(write('gb18030-cpg', { encoding: 'gb18030', cpg: 'GB18030' }))).toEqual(names);
    expect(await read(write('gb18030-config', { encoding: 'gb18030', cpg: 'UTF-8' }), 'GB18030')).toEqual(names);
    expect(await read(write('gb18030-detected', { encoding: 'gb18030' }))).toEqual(names);
  });

  it('GBK from .cpg in its code-page spelling (936) and detected; UTF-8 from .cpg and detected', async () => {
    const gbkNames = ['水田', '水浇地', '旱地'];
    const gbk = (name: string, over: Partial<RawShapefile>): string => {
      const base = path.join(dir, name);
      writeRawShapefile(base, parcelShapefile(makeParcels(3, 1), { cpg: undefined, ...over }));
      return `${base}.shp`;
    };
    expect(await read(gbk('gbk-936', { encoding: 'gbk', cpg: '936' }))).toEqual(gbkNames);
    const detected = await ingestLayer({ source: gbk('gbk-detected', { encoding: 'gbk' }) });
    expect(detected.features.map((f) => f.properties.DLMC)).toEqual(gbkNames);
    expect(detected.encoding).toBe('GB18030 (detected from the data)');
    expect(await read(gbk('utf8-cpg', { encoding: 'utf8', cpg: 'UTF-8' }))).toEqual(gbkNames);
    const utf8 = await ingestLayer({ source: gbk('utf8-detected', { encoding: 'utf8' }) });
    expect(utf8.features.map((f) => f.properties.DLMC)).toEqual(gbkNames);
    expect(utf8.encoding).toBe('UTF-8 (detected from the data)');
  });

  it('decodes Chinese field names and renames them with fields', async () => {
    const base = path.join(dir, 'cn-names');
    writeRawShapefile(base, {
      shapeType: 1, shapes: [{ type: 1, parts: [[[500000, 4000000]]] }], prj: PRJ_4548, cpg: 'GBK', encoding: 'gbk',
      fields: [{ name: '标识码', type: 'C', length: 18 }, { name: '地类名称', type: 'C', length: 20 }],
      records: [['371502000000000001', '水田']],
    });
    const layer = await ingestLayer({ source: `${base}.shp`, idField: '标识码', fields: { 标识码: 'BSM', 地类名称: 'DLMC' } });
    expect(layer.features[0]?.properties).toEqual({ BSM: '371502000000000001', DLMC: '水田' });
    expect(layer.fields).toEqual({ BSM: 'String', DLMC: 'String' });
    await expect(ingestLayer({ source: `${base}.shp`, fields: ['地类代码'] })).rejects.toThrow(/fields names "地类代码", which is not an attribute of the source \(it has: 标识码, 地类名称\)/);
  });

  it('names the field whose name was cut mid-character at the 10-byte limit', async () => {
    const base = path.join(dir, 'cut-name');
    writeRawShapefile(base, {
      shapeType: 1, shapes: [{ type: 1, parts: [[[500000, 4000000]]] }], prj: PRJ_4548, cpg: 'UTF-8', encoding: 'utf8',
      fields: [{ name: 'BSM', type: 'C', length: 18 }, { name: '地类名称代码', type: 'C', length: 20 }],
      records: [['371502000000000001', '水田']],
    });
    await expect(ingestLayer({ source: `${base}.shp` })).rejects.toThrow(/cut-name\.dbf: has a field name that .*, in field 2 \(it fills the 10 bytes a DBF field name may have: .*cut a longer Chinese name mid-character/);
  });

  it('refuses a wrong encoding instead of passing mojibake, naming the field and the feature', async () => {
    await expect(read(write('utf8-as-gbk', { encoding: 'utf8', cpg: 'GBK' })))
      .rejects.toThrow(/utf8-as-gbk\.shp: feature BSM=371502000000000001: attribute DLMC in utf8-as-gbk\.dbf is UTF-8 text \("水田"\), not GBK as the encoding from utf8-as-gbk\.cpg says/);
    await expect(read(write('gbk-as-utf8', { encoding: 'gbk', cpg: 'UTF-8' })))
      .rejects.toThrow(/feature BSM=371502000000000001: attribute DLMC in gbk-as-utf8\.dbf is not valid UTF-8, the encoding from gbk-as-utf8\.cpg \(it reads as GBK: "水田"/);
    await expect(read(write('gb18030-as-gbk', { encoding: 'gb18030' }), 'GBK'))
      .rejects.toThrow(/feature BSM=371502000000000002: attribute DLMC in gb18030-as-gbk\.dbf is not valid GBK text, the encoding from the layer config: .*set encoding: GB18030/);
  });

  it('refuses a table that mixes encodings (detected from the first text, then contradicted)', async () => {
    await expect(read(write('mixed', { encoding: 'gbk', recordEncodings: ['gbk', 'utf8', 'gbk'] })))
      .rejects.toThrow(/mixed\.shp: feature BSM=371502000000000002: attribute DLMC in mixed\.dbf is UTF-8 text \("𠀾地块"\), not GB18030 as the encoding detected from the data says/);
  });

  it('refuses an unsupported .cpg and an unsupported configured encoding', async () => {
    await expect(read(write('big5', { cpg: 'Big5' }))).rejects.toThrow(/big5\.cpg: unsupported text encoding "Big5"/);
    await expect(read(write('latin', {}), 'latin1')).rejects.toThrow(/unsupported text encoding "latin1" in the layer config/);
  });

});

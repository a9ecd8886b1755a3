// The synthetic demo city (`plantiles demo`): complete, readable by the npm
// `shapefile` reader and by GDAL, in the right CRS and encoding, and
// byte-identical from one run to the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import proj4 from 'proj4';
import * as shapefile from 'shapefile';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon, Position } from 'geojson';
import { DEMO_PROBE_PARCEL, DEMO_SOURCE_FILES, generateDemo, type DemoSummary } from '../../pipeline/demo/generate-demo.js';
import { encodeShapefile } from '../../pipeline/demo/write-shapefile.js';

const COUNTY_CODES = ['371502', '371503', '371521', '371522', '371524', '371525', '371526', '371581'];
const EXTENT = { west: 115.25, east: 116.65, south: 35.75, north: 37.05 };

/** Whether GDAL's ogrinfo runs here, and whether its SQLite dialect has ST_IsValid (SpatiaLite). */
const hasOgrinfo = runs('ogrinfo', ['--version']);
const hasSpatialSql =
  hasOgrinfo && runs('ogrinfo', ['-ro', '-q', '-dialect', 'SQLite', '-sql', 'SELECT ST_IsValid(geometry) FROM OGRGeoJSON', '{"type":"Point","coordinates":[0,0]}']);

function runs(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function readAll(dir: string, layer: string): Promise<Feature[]> {
  const source = await shapefile.open(path.join(dir, `${layer}.shp`), path.join(dir, `${layer}.dbf`), { encoding: 'gbk' });
  const features: Feature[] = [];
  for (let r = await source.read(); !r.done; r = await source.read()) features.push(r.value);
  return features;
}

function readGeoJson(dir: string, file: string): FeatureCollection {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as FeatureCollection;
}

function polygonsOf(geometry: Geometry): Position[][][] {
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  throw new Error(`expected a polygon, got ${geometry.type}`);
}

/** Shoelace signed area; positive = counter-clockwise (y up). */
function signedArea(ring: Position[]): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [ax = 0, ay = 0] = ring[i] ?? [];
    const [bx = 0, by = 0] = ring[i + 1] ?? [];
    sum += ax * by - bx * ay;
  }
  return sum / 2;
}

function centroidOf(ring: Position[]): [number, number] {
  let [cx, cy, twiceArea] = [0, 0, 0];
  for (let i = 0; i + 1 < ring.length; i++) {
    const [ax = 0, ay = 0] = ring[i] ?? [];
    const [bx = 0, by = 0] = ring[i + 1] ?? [];
    const cross = ax * by - bx * ay;
    [cx, cy, twiceArea] = [cx + (ax + bx) * cross, cy + (ay + by) * cross, twiceArea + cross];
  }
  return [cx / (3 * twiceArea), cy / (3 * twiceArea)];
}

function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function ogrinfo(args: string[]): string {
  return execFileSync('ogrinfo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('synthetic demo city', () => {
  const tempDirs: string[] = [];
  let dir = '';
  let summary: DemoSummary;
  let farmland: Feature[] = [];
  let toLonLat: (p: Position) => Position;

  const makeTempDir = (): string => {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'plantiles-demo-'));
    tempDirs.push(made);
    return made;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    summary = await generateDemo(path.join(dir, 'demo'));
    dir = summary.dir;
    farmland = await readAll(dir, 'farmland');
    const prj = fs.readFileSync(path.join(dir, 'farmland.prj'), 'utf8');
    const converter = proj4(prj, 'EPSG:4326');
    toLonLat = (p) => converter.forward([p[0] ?? NaN, p[1] ?? NaN]);
  });

  afterAll(() => {
    for (const made of tempDirs) fs.rmSync(made, { recursive: true, force: true });
  });

  it('writes every source file into a directory it creates', () => {
    for (const file of DEMO_SOURCE_FILES) expect(fs.existsSync(path.join(dir, file)), file).toBe(true);
    expect(summary.files).toEqual([...DEMO_SOURCE_FILES]);
    expect(fs.readFileSync(path.join(dir, 'README.txt'), 'utf8')).toMatch(/合成数据[\s\S]*SYNTHETIC/);
    for (const layer of ['farmland', 'pbf', 'ubound', 'projects']) {
      expect(fs.readFileSync(path.join(dir, `${layer}.cpg`), 'latin1')).toBe('GBK');
    }
  });

  it('writes ≥ 20,000 farmland parcels with unique 18-digit BSM and GBK attributes', () => {
    expect(farmland.length).toBeGreaterThanOrEqual(20_000);
    expect(summary.counts.farmland).toBe(farmland.length);
    const bsms = farmland.map((f) => String(f.properties?.BSM));
    expect(bsms.every((bsm) => /^\d{18}$/.test(bsm))).toBe(true);
    expect(new Set(bsms).size).toBe(bsms.length);
    const dlmc = new Set(farmland.map((f) => f.properties?.DLMC as string));
    expect(dlmc).toContain('水浇地');
    expect(dlmc).toContain('旱地');
    expect(farmland.every((f) => COUNTY_CODES.includes(f.properties?.XZQDM as string))).toBe(true);
    expect(farmland.every((f) => /村$/.test(f.properties?.ZLDWMC as string))).toBe(true);
  });

  it('gives each parcel 5–12 vertices and a TBMJ equal to its projected area', () => {
    const bad = farmland.filter((feature) => {
      const polygons = polygonsOf(feature.geometry);
      const ring = polygons[0]?.[0] ?? [];
      const vertices = ring.length - 1;
      const areaError = Math.abs(Math.abs(signedArea(ring)) - (feature.properties?.TBMJ as number));
      return polygons.length !== 1 || polygons[0]?.length !== 1 || vertices < 5 || vertices > 12 || !(areaError < 0.01);
    });
    expect(bad.map((f) => f.properties?.BSM)).toEqual([]);
  });

  it('places farmland in EPSG:4548 coordinates that reproject (via the .prj) into the Liaocheng extent', () => {
    const outside = farmland.filter((feature) => {
      const [lon = NaN, lat = NaN] = toLonLat(polygonsOf(feature.geometry)[0]?.[0]?.[0] ?? []);
      return !(lon > EXTENT.west && lon < EXTENT.east && lat > EXTENT.south && lat < EXTENT.north);
    });
    expect(outside.map((f) => f.properties?.BSM)).toEqual([]);
  });

  it('writes a .prj that proj4 reads as EPSG:4548, round-tripping a point within 1 mm', () => {
    const prj = fs.readFileSync(path.join(dir, 'farmland.prj'), 'utf8');
    expect(prj).toContain('CGCS2000_3_Degree_GK_CM_117E');
    const epsg4548 = '+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';
    const xy = proj4('EPSG:4326', epsg4548, [115.98, 36.45]);
    const fromPrj = proj4(prj, 'EPSG:4326');
    const lonLat = fromPrj.forward(xy);
    const [x = NaN, y = NaN] = fromPrj.inverse(lonLat);
    expect(lonLat[0]).toBeCloseTo(115.98, 9);
    expect(lonLat[1]).toBeCloseTo(36.45, 9);
    expect(Math.hypot(x - (xy[0] ?? NaN), y - (xy[1] ?? NaN))).toBeLessThan(0.001);
  });

  it('matches DEMO_PROBE_PARCEL to the first farmland feature', () => {
    const first = farmland[0];
    expect(first?.properties).toMatchObject({
      BSM: DEMO_PROBE_PARCEL.bsm,
      XZQDM: DEMO_PROBE_PARCEL.xzqdm,
      DLBM: DEMO_PROBE_PARCEL.dlbm,
      DLMC: DEMO_PROBE_PARCEL.dlmc,
      TBMJ: DEMO_PROBE_PARCEL.tbmj,
    });
    const ring = (polygonsOf(first?.geometry ?? { type: 'Point', coordinates: [] })[0]?.[0] ?? []).map(toLonLat);
    const [lon, lat] = centroidOf(ring);
    expect(lon).toBeCloseTo(DEMO_PROBE_PARCEL.centroid[0], 6);
    expect(lat).toBeCloseTo(DEMO_PROBE_PARCEL.centroid[1], 6);
  });

  it('makes pbf a subset of farmland with the same geometry and its own unique BSM', async () => {
    const pbf = await readAll(dir, 'pbf');
    const byBsm = new Map(farmland.map((f) => [f.properties?.BSM as string, f]));
    expect(pbf.length).toBeGreaterThan(farmland.length * 0.4);
    expect(pbf.length).toBeLessThan(farmland.length * 0.8);
    expect(new Set(pbf.map((f) => f.properties?.BSM)).size).toBe(pbf.length);
    const notSubset = pbf.filter((feature) => {
      const source = byBsm.get(feature.properties?.TBBSM as string);
      const sameGeometry = JSON.stringify(feature.geometry) === JSON.stringify(source?.geometry);
      return !source || !sameGeometry || byBsm.has(feature.properties?.BSM as string) || !/^01/.test(feature.properties?.DLBM as string);
    });
    expect(notSubset.map((f) => f.properties?.BSM)).toEqual([]);
    const probeInPbf = pbf.find((f) => f.properties?.TBBSM === DEMO_PROBE_PARCEL.bsm);
    expect(probeInPbf?.properties?.BSM ?? null).toBe(DEMO_PROBE_PARCEL.pbfBsm);
  });

  it('writes 7 detailed development boundaries, at least one with a hole', async () => {
    const ubound = await readAll(dir, 'ubound');
    expect(ubound).toHaveLength(7);
    for (const feature of ubound) {
      const rings = polygonsOf(feature.geometry);
      expect(rings).toHaveLength(1); // one polygon: the hole was read back as a hole, so the winding is ESRI's
      expect((rings[0]?.[0]?.length ?? 0) - 1).toBeGreaterThanOrEqual(600);
      expect(feature.properties?.MC).toMatch(/城镇开发边界.*合成/);
    }
    expect(ubound.some((f) => (polygonsOf(f.geometry)[0]?.length ?? 0) > 1)).toBe(true);
  });

  it('writes 2–3 project corridors as polylines', async () => {
    const projects = await readAll(dir, 'projects');
    expect(projects.length).toBeGreaterThanOrEqual(2);
    expect(projects.length).toBeLessThanOrEqual(3);
    for (const feature of projects) {
      expect(['LineString', 'MultiLineString']).toContain(feature.geometry.type);
      expect(feature.properties?.XMMC).toMatch(/合成/);
    }
  });

  it('writes the eco red line as RFC 7946 lon/lat polygons with holes', () => {
    const eco = readGeoJson(dir, 'eco-redline.geojson');
    expect(eco).not.toHaveProperty('crs');
    expect(eco.features.length).toBeGreaterThanOrEqual(20);
    let holes = 0;
    for (const feature of eco.features) {
      expect(feature.properties?.HXMC).toMatch(/生态保护红线/);
      for (const rings of polygonsOf(feature.geometry as Polygon | MultiPolygon)) {
        rings.forEach((ring, i) => {
          expect(signedArea(ring) > 0).toBe(i === 0); // outer counter-clockwise, holes clockwise
          for (const [lon = NaN, lat = NaN] of ring) {
            expect(Math.abs(lon * 1e7 - Math.round(lon * 1e7))).toBeLessThan(1e-3);
            expect(lon).toBeGreaterThan(EXTENT.west - 0.1);
            expect(lat).toBeLessThan(EXTENT.north + 0.1);
          }
        });
        holes += rings.length - 1;
      }
    }
    expect(holes).toBeGreaterThan(5);
  });

  it('writes heritage polygons and a line in lon/lat', () => {
    const heritage = readGeoJson(dir, 'heritage.geojson');
    const types = new Set(heritage.features.map((f) => f.geometry.type));
    expect(types).toEqual(new Set(['Polygon', 'LineString']));
    expect(heritage.features.map((f) => f.properties?.MC)).toContain('聊城古城历史文化街区（合成示例）');
  });

  it('is byte-identical when generated again', async () => {
    const again = await generateDemo(makeTempDir());
    for (const file of DEMO_SOURCE_FILES) {
      expect(sha256Of(path.join(again.dir, file)), file).toBe(sha256Of(path.join(dir, file)));
    }
  });

  it.skipIf(!hasOgrinfo)(`is read by GDAL with the right count and EPSG:4548${hasOgrinfo ? '' : ' — skipped: ogrinfo not on PATH'}`, () => {
    const info = ogrinfo(['-ro', '-so', '-al', path.join(dir, 'farmland.shp')]);
    expect(info).toContain(`Feature Count: ${farmland.length}`);
    expect(info).toContain('CGCS2000 / 3-degree Gauss-Kruger CM 117E');
    expect(info).toMatch(/ID\["EPSG",4548\]\]\s*$/m);
    expect(ogrinfo(['-ro', '-al', '-q', '-where', `BSM='${DEMO_PROBE_PARCEL.bsm}'`, path.join(dir, 'farmland.shp')])).toContain(
      `DLMC (String) = ${DEMO_PROBE_PARCEL.dlmc}`,
    );
  });

  it.skipIf(!hasSpatialSql)(`passes GDAL/GEOS validity for every polygon${hasSpatialSql ? '' : ' — skipped: no ogrinfo with SpatiaLite SQL'}`, () => {
    const sources: [string, string][] = [
      ['farmland.shp', 'farmland'],
      ['ubound.shp', 'ubound'],
      ['eco-redline.geojson', 'eco-redline'],
      ['heritage.geojson', 'heritage'],
    ];
    for (const [file, layer] of sources) {
      const sql = `SELECT count(*) - sum(ST_IsValid(geometry)) AS invalid FROM "${layer}"`;
      expect(ogrinfo(['-ro', '-q', '-dialect', 'SQLite', '-sql', sql, path.join(dir, file)]), file).toMatch(/invalid \(Integer\) = 0/);
    }
  });
});

describe('demo shapefile writer', () => {
  it('writes ESRI windings that a reader turns back into a polygon with a hole', async () => {
    // GeoJSON windings on input: the writer must flip both rings.
    const outer: [number, number][] = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
    const hole: [number, number][] = [[2, 2], [2, 4], [4, 4], [4, 2], [2, 2]];
    const { shp, shx, dbf } = encodeShapefile({
      shapeType: 'Polygon',
      fields: [{ name: 'MC', type: 'C', length: 7 }, { name: 'MJ', type: 'N', length: 8, decimals: 2 }],
      features: [{ polygons: [[outer, hole]], properties: { MC: '城镇开发边界', MJ: 96 } }],
    });
    expect(shp.readInt32BE(24) * 2).toBe(shp.length);
    expect(shx.readInt32BE(24) * 2).toBe(shx.length);
    expect([dbf[0], dbf[1], dbf[2], dbf[3], dbf[29], dbf[dbf.length - 1]]).toEqual([0x03, 126, 1, 1, 0x4d, 0x1a]);
    const collection = await shapefile.read(shp, dbf, { encoding: 'gbk' });
    const feature = collection.features[0];
    expect(feature?.geometry.type).toBe('Polygon');
    // The reader keeps rings as stored, so their windings show what was written.
    const [shell = [], ...holes] = (feature?.geometry as Polygon).coordinates;
    expect(holes).toHaveLength(1);
    expect(signedArea(shell)).toBe(-100); // the 10 × 10 square, stored clockwise
    expect(signedArea(holes[0] ?? [])).toBe(4); // the hole, stored counter-clockwise
    // Seven GBK bytes hold three two-byte characters; the fourth is dropped whole, not split.
    expect(feature?.properties).toEqual({ MC: '城镇开', MJ: 96 });
  });
});

import { describe, expect, it } from 'vitest';
import { DATUMS, knownCrs, knownCrsCodes } from '../../pipeline/ingest/crs-registry.js';
import { createTransform } from '../../pipeline/ingest/reproject.js';
import { CrsError, resolveCrs } from '../../pipeline/ingest/resolve-crs.js';
import { cs2csRows, hasCs2cs, hasProjinfo, projinfoWkt } from '../helpers/cs2cs.js';

// Every Gauss–Krüger zone family checked against PROJ (an implementation
// independent of proj4js): points across each zone are projected by PROJ from the
// EPSG definition, brought back by our transform, and compared with PROJ's
// answer for the same datum shift, to within 1 cm.

interface Series {
  family: 'cgcs2000' | 'xian1980' | 'beijing1954';
  first: number;
  width: 3 | 6;
  /** Test every zone (CGCS2000, the requirement) or first, middle and last. */
  all: boolean;
}

const SERIES: Series[] = [
  { family: 'cgcs2000', first: 4491, width: 6, all: true },
  { family: 'cgcs2000', first: 4502, width: 6, all: true },
  { family: 'cgcs2000', first: 4513, width: 3, all: true },
  { family: 'cgcs2000', first: 4534, width: 3, all: true },
  { family: 'xian1980', first: 2327, width: 6, all: false },
  { family: 'xian1980', first: 2338, width: 6, all: false },
  { family: 'xian1980', first: 2349, width: 3, all: false },
  { family: 'xian1980', first: 2370, width: 3, all: false },
  { family: 'beijing1954', first: 21413, width: 6, all: false },
  { family: 'beijing1954', first: 21453, width: 6, all: false },
  { family: 'beijing1954', first: 2401, width: 3, all: false },
  { family: 'beijing1954', first: 2422, width: 3, all: false },
];

const GEOGRAPHIC = { cgcs2000: 'EPSG:4490', xian1980: 'EPSG:4610', beijing1954: 'EPSG:4214' } as const;

function zonesOf(s: Series): { code: string; lon0: number }[] {
  const count = s.width === 3 ? 21 : 11;
  const picks = s.all ? [...Array(count).keys()] : [0, Math.floor(count / 2), count - 1];
  return picks.map((i) => {
    const zone = (s.width === 3 ? 25 : 13) + i;
    return { code: `EPSG:${s.first + i}`, lon0: s.width === 3 ? zone * 3 : zone * 6 - 3 };
  });
}

/** lon/lat points across a zone: both edges, quarter points and the central meridian, south to north China. */
function pointsAcross(lon0: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (const f of [-0.5, -0.25, 0, 0.25, 0.5]) for (const lat of [18.5, 31.25, 44, 53.4]) out.push([lon0 + f * width, lat]);
  return out;
}

/** Ground distance in metres between two lon/lat points a few metres apart. */
function metres(a: readonly number[], b: readonly number[]): number {
  const lat = ((a[1] as number) * Math.PI) / 180;
  return Math.hypot(((a[0] as number) - (b[0] as number)) * 111_320 * Math.cos(lat), ((a[1] as number) - (b[1] as number)) * 110_574);
}

describe('CRS registry against PROJ cs2cs', () => {
  for (const series of SERIES) {
    const label = `${series.family} ${series.width}° from EPSG:${series.first}`;
    it.skipIf(!hasCs2cs)(`${label}: every tested zone agrees with cs2cs within 1 cm`, () => {
      const geographic = GEOGRAPHIC[series.family];
      for (const { code, lon0 } of zonesOf(series)) {
        const lonlat = pointsAcross(lon0, series.width);
        // PROJ projects with the EPSG definition (EPSG geographic axes: lat, lon; GK: northing, easting).
        const projected = cs2csRows(geographic, code, lonlat.map(([lon, lat]) => [lat, lon])).map(([n, e]) => [e, n]);
        const ours = projected.map(createTransform(resolveCrs(code)));
        const expected = series.family === 'beijing1954'
          ? cs2csRows(`+proj=longlat ${DATUMS.beijing1954.terms}`, '+proj=longlat +datum=WGS84', lonlat)
          : cs2csRows(code, 'EPSG:4326', projected.map(([e, n]) => [n as number, e as number])).map(([lat, lon]) => [lon, lat]);
        ours.forEach((p, i) => {
          expect(metres(p, expected[i] as number[]), `${code} point ${lonlat[i]?.join(',')}`).toBeLessThan(0.01);
        });
      }
    });
  }

  it.skipIf(!hasCs2cs)('Web Mercator, WGS 84 and CGCS2000 geographic agree with cs2cs', () => {
    const lonlat: [number, number][] = [[116.0, 36.4], [73.5, 18.2], [134.7, 53.5]];
    const merc = cs2csRows('EPSG:4326', 'EPSG:3857', lonlat.map(([lon, lat]) => [lat, lon]));
    merc.map(createTransform(resolveCrs('EPSG:3857'))).forEach((p, i) => expect(metres(p, lonlat[i] as number[])).toBeLessThan(0.01));
    for (const code of ['EPSG:4326', 'EPSG:4490', 'urn:ogc:def:crs:EPSG::4490', 'urn:ogc:def:crs:OGC:1.3:CRS84']) {
      expect(createTransform(resolveCrs(code))([116.1, 36.4])).toEqual([116.1, 36.4]);
    }
  });

  it('knows every zone the issue names, with the exact EPSG parameters', () => {
    const codes = new Set(knownCrsCodes());
    for (let c = 4513; c <= 4554; c++) expect(codes.has(`EPSG:${c}`), `EPSG:${c}`).toBe(true);
    for (let c = 4491; c <= 4512; c++) expect(codes.has(`EPSG:${c}`), `EPSG:${c}`).toBe(true);
    for (let c = 2327; c <= 2390; c++) expect(codes.has(`EPSG:${c}`), `EPSG:${c}`).toBe(true);
    for (let c = 2401; c <= 2442; c++) expect(codes.has(`EPSG:${c}`), `EPSG:${c}`).toBe(true);
    expect(knownCrs('EPSG:4527')?.proj4).toContain('+lon_0=117 +k=1 +x_0=39500000');
    expect(knownCrs('EPSG:4548')?.proj4).toContain('+lon_0=117 +k=1 +x_0=500000');
    expect(knownCrs('EPSG:2385')?.proj4).toContain('+a=6378140 +rf=298.257');
    expect(knownCrs('EPSG:2437')?.title).toBe('Beijing 1954 / 3-degree Gauss-Kruger CM 120E');
  });
});

describe('.prj and GeoPackage WKT identification', () => {
  const samples = ['EPSG:4548', 'EPSG:4527', 'EPSG:4499', 'EPSG:4510', 'EPSG:2383', 'EPSG:2364', 'EPSG:2435', 'EPSG:2416', 'EPSG:21460', 'EPSG:4490', 'EPSG:4326', 'EPSG:3857'];
  it.skipIf(!hasProjinfo)('maps PROJ\'s ESRI, OGC (GDAL) and WKT2 spellings to the EPSG definition', () => {
    for (const code of samples) {
      const want = resolveCrs(code).proj4;
      for (const flavour of ['WKT1_ESRI', 'WKT1_GDAL', 'WKT2_2019'] as const) {
        const wkt = projinfoWkt(code, flavour);
        expect(resolveCrs(wkt).proj4, `${code} as ${flavour}: ${wkt.slice(0, 60)}`).toBe(want);
      }
    }
  });

  it('matches ESRI names without an authority: zone number in the false easting, Xian 1980, Beijing 1954', () => {
    const esri = (name: string, geog: string, datum: string, sph: string, cm: number, fe: number): string =>
      `PROJCS["${name}",GEOGCS["${geog}",DATUM["${datum}",SPHEROID["${sph}",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],` +
      `PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",${fe}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",${cm}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`;
    expect(resolveCrs(esri('CGCS2000_3_Degree_GK_Zone_39', 'GCS_China_Geodetic_Coordinate_System_2000', 'D_China_2000', 'CGCS2000', 117, 39500000)).label).toMatch(/^EPSG:4527 /);
    expect(resolveCrs(esri('CGCS2000_3_Degree_GK_CM_117E', 'GCS_China_Geodetic_Coordinate_System_2000', 'D_China_2000', 'CGCS2000', 117, 500000)).label).toMatch(/^EPSG:4548 /);
    expect(resolveCrs(esri('Xian_1980_3_Degree_GK_CM_117E', 'GCS_Xian_1980', 'D_Xian_1980', 'Xian_1980', 117, 500000)).label).toMatch(/^EPSG:2384 /);
    expect(resolveCrs(esri('Beijing_1954_3_Degree_GK_CM_117E', 'GCS_Beijing_1954', 'D_Beijing_1954', 'Krasovsky_1940', 117, 500000)).label).toMatch(/^EPSG:2436 /);
    expect(resolveCrs(esri('Beijing_1954_GK_Zone_20N', 'GCS_Beijing_1954', 'D_Beijing_1954', 'Krasovsky_1940', 117, 500000)).label).toMatch(/^EPSG:21480 /);
    // A name that says one zone but parameters that say another: the parameters win, on the named datum.
    const edited = resolveCrs(esri('CGCS2000_3_Degree_GK_CM_117E', 'GCS_China_Geodetic_Coordinate_System_2000', 'D_China_2000', 'CGCS2000', 120, 500000));
    expect(edited.proj4).toBe('+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs');
    // An unnamed GK CRS on Beijing 1954 gets the documented datum shift, not a silent no-shift.
    const custom = resolveCrs(esri('My_Local_GK', 'GCS_Beijing_1954', 'D_Beijing_1954', 'Krasovsky_1940', 116.5, 500000));
    expect(custom.proj4).toContain('+lon_0=116.5');
    expect(custom.proj4).toContain(DATUMS.beijing1954.terms);
  });

  it.skipIf(!hasCs2cs || !hasProjinfo)('reads any other WKT with proj4 (UTM zone 50N), agreeing with cs2cs', () => {
    const wkt = projinfoWkt('EPSG:32650', 'WKT1_GDAL');
    const points = [[500000, 4000000], [400000, 4500000]];
    const expected = cs2csRows('EPSG:32650', 'EPSG:4326', points).map(([lat, lon]) => [lon, lat]);
    points.map(createTransform(resolveCrs(wkt))).forEach((p, i) => expect(metres(p, expected[i] as number[])).toBeLessThan(0.01));
  });

  it('refuses garbage, unknown codes and unknown WKT instead of guessing', () => {
    expect(() => resolveCrs('this is not a projection')).toThrow(CrsError);
    expect(() => resolveCrs('this is not a projection')).toThrow(/not a CRS definition/);
    expect(() => resolveCrs('EPSG:9999')).toThrow(/unknown CRS EPSG:9999/);
    expect(() => resolveCrs('PROJCS["x",GEOGCS["y",DATUM["z",SPHEROID["s",6378137,298]]],PROJECTION["No_Such_Projection"],UNIT["Meter",1]]')).toThrow(CrsError);
    expect(() => resolveCrs('LOCAL_CS["arbitrary"]')).toThrow(/not a CRS definition/);
    expect(() => resolveCrs('PROJCS["unterminated",GEOGCS[')).toThrow(/not a CRS definition/);
  });
});

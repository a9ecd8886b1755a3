// The CRSs Chinese planning data arrives in, with the exact parameters of their
// EPSG definitions (checked against PROJ's database), the names ESRI and OGC
// .prj files give them, and the area where their coordinates can lie.

/** [west, south, east, north] in degrees. */
export type Area = [number, number, number, number];

/** A geodetic datum family: its ellipsoid and the shift used to reach WGS 84. */
export interface DatumFamily {
  label: string;
  /** proj4 ellipsoid and datum-shift terms. */
  terms: string;
}

/** A CRS known by EPSG code. */
export interface KnownCrs {
  code: string;
  title: string;
  /** proj4 definition, or "identity" for lon/lat already on (or within centimetres of) WGS 84. */
  proj4: string;
  area: Area;
  /** Transverse Mercator parameters, to cross-check a .prj that names this CRS. */
  tm?: { lon0: number; x0: number };
}

/** The whole world as Web Mercator tiles can show it. */
export const WORLD_AREA: Area = [-180, -85.06, 180, 85.06];
/** Mainland China with its islands and a margin: where the Chinese datums are defined. */
const CHINA_AREA: Area = [70, 0, 140, 56];
/** Data often runs past its zone's edge; this much past it is still plausible. */
const ZONE_MARGIN = 1.5;

/**
 * CGCS2000 is realised within centimetres of WGS 84 and is treated as it (as PROJ
 * does, with a no-op). Xian 1980 has no published shift to WGS 84: like PROJ's
 * "ballpark" operation, latitude and longitude are kept as they are (the error is
 * tens of metres; a layer can give its own proj4 string with local parameters).
 * Beijing 1954 uses the 3-parameter shift of EPSG:15921 (Beijing 1954 to WGS 84 (4));
 * no published set covers eastern China, so positions are approximate (tens of metres)
 * unless a layer supplies local parameters.
 */
export const DATUMS = {
  cgcs2000: { label: 'CGCS2000', terms: '+ellps=GRS80' },
  xian1980: { label: 'Xian 1980', terms: '+a=6378140 +rf=298.257' },
  beijing1954: { label: 'Beijing 1954', terms: '+ellps=krass +towgs84=15.8,-154.4,-82.3,0,0,0,0' },
  wgs84: { label: 'WGS 84', terms: '+datum=WGS84' },
} as const satisfies Record<string, DatumFamily>;

type FamilyKey = 'cgcs2000' | 'xian1980' | 'beijing1954';

/** A run of consecutive EPSG codes, one Gauss–Krüger zone each. */
interface ZoneSeries {
  family: FamilyKey;
  firstCode: number;
  width: 3 | 6;
  /** Zone number written in front of the false easting (39500000 instead of 500000). */
  prefixed: boolean;
  /** Beijing 1954's deprecated "13N" names for the unprefixed 6° zones. */
  northNames?: boolean;
}

const SERIES: ZoneSeries[] = [
  { family: 'cgcs2000', firstCode: 4491, width: 6, prefixed: true },
  { family: 'cgcs2000', firstCode: 4502, width: 6, prefixed: false },
  { family: 'cgcs2000', firstCode: 4513, width: 3, prefixed: true },
  { family: 'cgcs2000', firstCode: 4534, width: 3, prefixed: false },
  { family: 'xian1980', firstCode: 2327, width: 6, prefixed: true },
  { family: 'xian1980', firstCode: 2338, width: 6, prefixed: false },
  { family: 'xian1980', firstCode: 2349, width: 3, prefixed: true },
  { family: 'xian1980', firstCode: 2370, width: 3, prefixed: false },
  { family: 'beijing1954', firstCode: 21413, width: 6, prefixed: true },
  { family: 'beijing1954', firstCode: 21453, width: 6, prefixed: false },
  { family: 'beijing1954', firstCode: 21473, width: 6, prefixed: false, northNames: true },
  { family: 'beijing1954', firstCode: 2401, width: 3, prefixed: true },
  { family: 'beijing1954', firstCode: 2422, width: 3, prefixed: false },
];

const ESRI_PREFIX: Record<FamilyKey, string> = { cgcs2000: 'CGCS2000', xian1980: 'Xian_1980', beijing1954: 'Beijing_1954' };

/** proj4 string of a Transverse Mercator (Gauss–Krüger) CRS on a datum family. */
export function transverseMercator(datum: DatumFamily, lon0: number, x0: number, k = 1, lat0 = 0, y0 = 0): string {
  return `+proj=tmerc +lat_0=${lat0} +lon_0=${lon0} +k=${k} +x_0=${x0} +y_0=${y0} ${datum.terms} +units=m +no_defs`;
}

/** The area a Gauss–Krüger zone's coordinates can plausibly fall in. */
export function zoneArea(lon0: number, width: number): Area {
  const half = width / 2 + ZONE_MARGIN;
  return [lon0 - half, CHINA_AREA[1], lon0 + half, CHINA_AREA[3]];
}

interface Registry {
  byCode: Map<string, KnownCrs>;
  byName: Map<string, string>;
}

function addZoneSeries(reg: Registry, s: ZoneSeries): void {
  const count = s.width === 3 ? 21 : 11;
  const datum = DATUMS[s.family];
  for (let i = 0; i < count; i++) {
    const zone = (s.width === 3 ? 25 : 13) + i;
    const lon0 = s.width === 3 ? zone * 3 : zone * 6 - 3;
    const x0 = s.prefixed ? zone * 1_000_000 + 500_000 : 500_000;
    const code = `EPSG:${s.firstCode + i}`;
    const degree = s.width === 3 ? '3-degree ' : '';
    const which = s.prefixed ? `zone ${zone}` : s.northNames ? `${zone}N` : `CM ${lon0}E`;
    const title = `${datum.label} / ${degree}Gauss-Kruger ${which}`;
    reg.byCode.set(code, { code, title, proj4: transverseMercator(datum, lon0, x0), area: zoneArea(lon0, s.width), tm: { lon0, x0 } });
    const esriDegree = s.width === 3 ? '3_Degree_' : '';
    const esri = s.prefixed ? `Zone_${zone}` : s.northNames ? `Zone_${zone}N` : `CM_${lon0}E`;
    for (const name of [title, `${ESRI_PREFIX[s.family]}_${esriDegree}GK_${esri}`]) {
      const key = normaliseCrsLabel(name);
      if (!reg.byName.has(key)) reg.byName.set(key, code);
    }
  }
}

function buildRegistry(): Registry {
  const reg: Registry = { byCode: new Map(), byName: new Map() };
  const add = (code: string, title: string, proj4: string, area: Area, names: string[]): void => {
    reg.byCode.set(code, { code, title, proj4, area });
    for (const name of [title, ...names]) reg.byName.set(normaliseCrsLabel(name), code);
  };
  add('EPSG:4326', 'WGS 84', 'identity', WORLD_AREA, ['GCS_WGS_1984', 'WGS84', 'WGS_1984']);
  add('EPSG:4490', 'China Geodetic Coordinate System 2000', 'identity', CHINA_AREA, ['GCS_China_Geodetic_Coordinate_System_2000', 'CGCS2000', 'GCS_CGCS2000']);
  // The 3D geographic CRSs GDAL writes for data with heights; heights are dropped.
  reg.byCode.set('EPSG:4979', { code: 'EPSG:4979', title: 'WGS 84 (3D)', proj4: 'identity', area: WORLD_AREA });
  reg.byCode.set('EPSG:4480', { code: 'EPSG:4480', title: 'China Geodetic Coordinate System 2000 (3D)', proj4: 'identity', area: CHINA_AREA });
  add('EPSG:4610', 'Xian 1980', `+proj=longlat ${DATUMS.xian1980.terms} +no_defs`, CHINA_AREA, ['GCS_Xian_1980']);
  add('EPSG:4214', 'Beijing 1954', `+proj=longlat ${DATUMS.beijing1954.terms} +no_defs`, CHINA_AREA, ['GCS_Beijing_1954']);
  const mercator = '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs';
  add('EPSG:3857', 'WGS 84 / Pseudo-Mercator', mercator, WORLD_AREA, ['WGS_1984_Web_Mercator_Auxiliary_Sphere', 'WGS_1984_Web_Mercator', 'Web_Mercator']);
  // Codes older software still writes for Web Mercator.
  for (const alias of ['EPSG:900913', 'EPSG:102100', 'EPSG:102113']) reg.byCode.set(alias, { ...(reg.byCode.get('EPSG:3857') as KnownCrs), code: alias });
  for (const s of SERIES) addZoneSeries(reg, s);
  return reg;
}

let registry: Registry | null = null;
function getRegistry(): Registry {
  registry ??= buildRegistry();
  return registry;
}

/** The known CRS for an "EPSG:n" code, or undefined. */
export function knownCrs(code: string): KnownCrs | undefined {
  return getRegistry().byCode.get(code);
}

/** The known CRS a .prj or GeoPackage name refers to (ESRI or OGC spelling), or undefined. */
export function knownCrsByName(name: string): KnownCrs | undefined {
  const code = getRegistry().byName.get(normaliseCrsLabel(name));
  return code ? knownCrs(code) : undefined;
}

/** Every known EPSG code (for tests and docs). */
export function knownCrsCodes(): string[] {
  return [...getRegistry().byCode.keys()];
}

/** Folds the spellings of one CRS name together: case, punctuation, "Gauss-Kruger" vs "GK". */
export function normaliseCrsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/ü/g, 'u')
    .replace(/krueger/g, 'kruger')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .replace(/gauss_kruger/g, 'gk');
}

/** Normalises "EPSG:4490", "epsg:4490", "urn:ogc:def:crs:EPSG::4490", CRS84 names to "EPSG:n"; else null. */
export function normaliseCrsName(name: string): string | null {
  const trimmed = name.trim();
  if (/^urn:ogc:def:crs:OGC:(1\.3)?:CRS84$/i.test(trimmed) || /^(OGC:)?CRS:?84$/i.test(trimmed)) return 'EPSG:4326';
  const m = /^(?:urn:ogc:def:crs:)?EPSG:{1,2}(?:[\d.]*:)?(\d{4,6})$/i.exec(trimmed) ?? /^(\d{4,6})$/.exec(trimmed);
  return m ? `EPSG:${m[1]}` : null;
}

/** The datum family a WKT DATUM or GEOGCS name refers to, or null. */
export function datumFamilyOf(name: string): DatumFamily | null {
  const key = normaliseCrsLabel(name);
  if (/china_2000|china_geodetic_coordinate_system_2000|cgcs_?2000/.test(key)) return DATUMS.cgcs2000;
  if (/xian_?1980|xi_an_1980/.test(key)) return DATUMS.xian1980;
  if (/beijing_?1954/.test(key)) return DATUMS.beijing1954;
  if (/wgs_?1984|wgs_?84|world_geodetic_system_1984/.test(key)) return DATUMS.wgs84;
  return null;
}

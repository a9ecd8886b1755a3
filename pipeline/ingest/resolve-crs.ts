import {
  datumFamilyOf, knownCrs, knownCrsByName, normaliseCrsLabel, normaliseCrsName, transverseMercator, WORLD_AREA, zoneArea,
  DATUMS, type Area, type KnownCrs,
} from './crs-registry.js';
import { loadProj4 } from './load-proj4.js';
import { childNode, nodeName, parseWkt, WktSyntaxError, type WktNode, type WktValue } from './parse-wkt.js';

/** A CRS that cannot be used; the caller adds the file name and where the CRS came from. */
export class CrsError extends Error {
  override readonly name = 'CrsError';
}

/** A CRS ready to build a transform from. */
export interface ResolvedCrs {
  /** How messages name it, e.g. "EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E)". */
  label: string;
  /** proj4 definition, or "identity" for lon/lat on WGS 84 or CGCS2000. */
  proj4: string;
  /** Where reprojected coordinates can plausibly lie; outside it the CRS is wrong or axes are swapped. */
  area: Area;
  /** Gauss–Krüger parameters, to explain coordinates that do not fit (a zone number in the easting). */
  tm?: { lon0: number; x0: number };
}

const CRS_KEYWORDS = new Set(['PROJCS', 'GEOGCS', 'PROJCRS', 'GEOGCRS', 'GEODCRS', 'PROJECTEDCRS', 'GEOGRAPHICCRS', 'GEODETICCRS']);
/** The target of every transform. */
export const WGS84_LONLAT = '+proj=longlat +datum=WGS84 +no_defs';
const KNOWN_FAMILIES = 'CGCS2000, Xian 1980 and Beijing 1954 (geographic and every Gauss-Kruger zone), EPSG:4326, EPSG:3857';

/** Resolves a CRS given as an EPSG name, a proj4 string or WKT (a .prj, a GeoPackage definition). */
export function resolveCrs(spec: string): ResolvedCrs {
  const text = spec.replace(/^\uFEFF/, '').trim();
  if (!text) throw new CrsError('empty CRS definition');
  const code = normaliseCrsName(text);
  if (code) {
    const known = knownCrs(code);
    if (!known) throw new CrsError(`unknown CRS ${code} (known: ${KNOWN_FAMILIES}; or give WKT or a proj4 string)`);
    return fromKnown(known);
  }
  if (text.startsWith('+')) return fromProj4String(text);
  return fromWkt(text);
}

function fromKnown(known: KnownCrs): ResolvedCrs {
  return { label: `${known.code} (${known.title})`, proj4: known.proj4, area: known.area, ...(known.tm ? { tm: known.tm } : {}) };
}

function fromProj4String(text: string): ResolvedCrs {
  try {
    loadProj4()(text, WGS84_LONLAT);
  } catch (err) {
    throw new CrsError(`not a usable proj4 string "${text.slice(0, 80)}": ${(err as Error).message || 'proj4 cannot read it'}`);
  }
  return { label: `proj4 "${text.slice(0, 80)}"`, proj4: text, area: WORLD_AREA };
}

function fromWkt(text: string): ResolvedCrs {
  let root: WktNode;
  try {
    root = parseWkt(text);
  } catch (err) {
    const why = err instanceof WktSyntaxError ? err.message : String(err);
    throw new CrsError(`not a CRS definition (expected WKT such as PROJCS[...]): ${why}`);
  }
  if (!CRS_KEYWORDS.has(root.keyword.toUpperCase())) throw new CrsError(`not a CRS definition: WKT starts with ${root.keyword}[...]`);
  const params = tmParameters(root);
  const named = byAuthority(root) ?? knownCrsByName(nodeName(root));
  if (named && agrees(named, params)) return fromKnown(named);
  const parametric = fromTmParameters(root, params);
  if (parametric) return parametric;
  const geographic = fromGeographic(root);
  if (geographic) return geographic;
  try {
    loadProj4()(text, WGS84_LONLAT);
  } catch (err) {
    throw new CrsError(`unknown CRS "${nodeName(root) || root.keyword}": ${(err as Error).message || 'not a projection proj4 can use'}`);
  }
  return { label: `WKT "${nodeName(root)}"`, proj4: text, area: WORLD_AREA };
}

function byAuthority(root: WktNode): KnownCrs | undefined {
  const auth = childNode(root, 'AUTHORITY', 'ID');
  if (!auth || nodeName(auth).toUpperCase() !== 'EPSG') return undefined;
  const code = auth.children[1];
  return typeof code === 'number' || typeof code === 'string' ? knownCrs(`EPSG:${code}`) : undefined;
}

interface TmParameters {
  lon0?: number;
  lat0?: number;
  x0?: number;
  y0?: number;
  k?: number;
}

const PARAMETER_KEYS: Record<string, keyof TmParameters> = {
  central_meridian: 'lon0', longitude_of_natural_origin: 'lon0', longitude_of_origin: 'lon0',
  latitude_of_origin: 'lat0', latitude_of_natural_origin: 'lat0',
  false_easting: 'x0', false_northing: 'y0',
  scale_factor: 'k', scale_factor_at_natural_origin: 'k',
};

/** PARAMETER values anywhere in the tree (WKT 1 puts them under PROJCS, WKT 2 under CONVERSION). */
function tmParameters(root: WktNode): TmParameters {
  const out: TmParameters = {};
  walk(root, (node) => {
    if (node.keyword.toUpperCase() !== 'PARAMETER') return;
    const key = PARAMETER_KEYS[normaliseCrsLabel(nodeName(node))];
    const value = node.children[1];
    if (key && typeof value === 'number') out[key] = value;
  });
  return out;
}

/** A .prj may name a known CRS but carry other parameters (edited by hand); then the parameters win. */
function agrees(known: KnownCrs, p: TmParameters): boolean {
  if (!known.tm) return true;
  const lon0Ok = p.lon0 === undefined || Math.abs(p.lon0 - known.tm.lon0) < 1e-9;
  const x0Ok = p.x0 === undefined || Math.abs(p.x0 - known.tm.x0) < 1e-3;
  return lon0Ok && x0Ok && (p.k === undefined || p.k === 1) && (p.lat0 ?? 0) === 0 && (p.y0 ?? 0) === 0;
}

function fromTmParameters(root: WktNode, p: TmParameters): ResolvedCrs | null {
  let method = '';
  walk(root, (node) => {
    if (/^(PROJECTION|METHOD)$/i.test(node.keyword)) method = normaliseCrsLabel(nodeName(node));
  });
  if (!/transverse_mercator|^gk$/.test(method) || p.lon0 === undefined || !isMetres(root)) return null;
  const family = datumFamilyOf(datumName(root));
  if (!family) return null;
  const def = transverseMercator(family, p.lon0, p.x0 ?? 0, p.k ?? 1, p.lat0 ?? 0, p.y0 ?? 0);
  const area = family === DATUMS.wgs84 ? WORLD_AREA : zoneArea(p.lon0, 6);
  const label = `${family.label} Transverse Mercator, central meridian ${p.lon0}, false easting ${p.x0 ?? 0} (from the WKT parameters)`;
  return { label, proj4: def, area, tm: { lon0: p.lon0, x0: p.x0 ?? 0 } };
}

function fromGeographic(root: WktNode): ResolvedCrs | null {
  if (!/^GEOG|^GEOD/i.test(root.keyword)) return null;
  const family = datumFamilyOf(datumName(root));
  if (family === DATUMS.wgs84) return fromKnown(knownCrs('EPSG:4326') as KnownCrs);
  if (family === DATUMS.cgcs2000) return fromKnown(knownCrs('EPSG:4490') as KnownCrs);
  if (family === DATUMS.xian1980) return fromKnown(knownCrs('EPSG:4610') as KnownCrs);
  if (family === DATUMS.beijing1954) return fromKnown(knownCrs('EPSG:4214') as KnownCrs);
  return null;
}

function datumName(root: WktNode): string {
  let name = '';
  walk(root, (node) => {
    if (!name && node.keyword.toUpperCase() === 'DATUM') name = nodeName(node);
  });
  if (name) return name;
  const geog = childNode(root, 'GEOGCS', 'BASEGEOGCRS', 'BASEGEODCRS');
  return nodeName(geog ?? root);
}

/** The projected CRS's linear unit is the metre (WKT 1: UNIT under PROJCS; WKT 2: LENGTHUNIT). */
function isMetres(root: WktNode): boolean {
  const unit = childNode(root, 'UNIT') ?? findNode(root, 'LENGTHUNIT');
  if (!unit) return true;
  const factor = unit.children[1];
  return typeof factor !== 'number' || Math.abs(factor - 1) < 1e-12;
}

function findNode(root: WktNode, keyword: string): WktNode | undefined {
  let found: WktNode | undefined;
  walk(root, (node) => {
    if (!found && node.keyword.toUpperCase() === keyword) found = node;
  });
  return found;
}

function walk(node: WktNode, visit: (n: WktNode) => void): void {
  visit(node);
  for (const child of node.children as WktValue[]) if (typeof child === 'object') walk(child, visit);
}

import { execFileSync, spawnSync } from 'node:child_process';

/** True when PROJ's cs2cs (Debian proj-bin) is on PATH. */
export const hasCs2cs = spawnSync('cs2cs', [], { encoding: 'utf8' }).error === undefined;

/**
 * Converts projected points of an EPSG CRS to lon/lat with PROJ's cs2cs, an
 * implementation independent of proj4js. EPSG's Gauss–Krüger CRSs take northing first.
 */
export function cs2csToLonLat(epsg: string, points: [number, number][], northingFirst = true): [number, number][] {
  const input = points.map(([x, y]) => (northingFirst ? `${y} ${x}` : `${x} ${y}`)).join('\n') + '\n';
  const out = execFileSync('cs2cs', ['-f', '%.10f', epsg, 'OGC:CRS84'], { input, encoding: 'utf8' });
  return out.trim().split('\n').map((line) => {
    const [lon, lat] = line.trim().split(/\s+/).map(Number);
    return [lon ?? NaN, lat ?? NaN];
  });
}

/**
 * Runs cs2cs between two CRSs on rows of coordinates: both authority codes
 * ("EPSG:4548"), or both proj strings ("+proj=tmerc …"); returns the first two output
 * values of each row. Axis order is the CRS's own (EPSG geographic: lat, lon).
 */
export function cs2csRows(from: string, to: string, rows: readonly (readonly number[])[]): [number, number][] {
  const input = rows.map((r) => r.join(' ')).join('\n') + '\n';
  const args = from.startsWith('+') || to.startsWith('+') ? [...from.split(/\s+/), '+to', ...to.split(/\s+/)] : [from, to];
  const out = execFileSync('cs2cs', ['-f', '%.10f', ...args], { input, encoding: 'utf8' });
  return out.trim().split('\n').map((line) => {
    const [a, b] = line.trim().split(/\s+/).map(Number);
    return [a ?? NaN, b ?? NaN];
  });
}

/** True when PROJ's projinfo (Debian proj-bin) is on PATH. */
export const hasProjinfo = spawnSync('projinfo', ['EPSG:4326', '-q', '-o', 'PROJ'], { encoding: 'utf8' }).error === undefined;

/** PROJ's own WKT of a CRS in a flavour ("WKT1_ESRI", "WKT1_GDAL", "WKT2_2019"), on one line. */
export function projinfoWkt(code: string, flavour: 'WKT1_ESRI' | 'WKT1_GDAL' | 'WKT2_2019'): string {
  return execFileSync('projinfo', [code, '-o', flavour, '-q', '--single-line'], { encoding: 'utf8' }).trim();
}

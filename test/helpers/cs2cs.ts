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

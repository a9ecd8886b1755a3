import type { ResolvedCrs } from './resolve-crs.js';

/** First EPSG code of CGCS2000's zone-prefixed series: 3° zones 25–45, 6° zones 13–23. */
const CGCS2000_PREFIXED = { three: 4513, six: 4491 };
/** First EPSG code of CGCS2000's unprefixed series, by central meridian from 75°E. */
const CGCS2000_UNPREFIXED = { three: 4534, six: 4502 };

/**
 * Why Gauss–Krüger coordinates that left the CRS's area probably did: the easting
 * carries a zone number the CRS does not expect (or lacks one it does), or x and y
 * are swapped. Null when nothing stands out. Suggestions name CGCS2000 codes.
 */
export function explainCrsMismatch(x: number, y: number, crs: ResolvedCrs): string | null {
  if (!crs.tm || !Number.isFinite(x) || !Number.isFinite(y)) return null;
  const prefixed = crs.tm.x0 >= 1_000_000;
  if (!prefixed && x >= 10_000_000) {
    const zone = Math.floor(x / 1_000_000);
    const code = zone >= 25 && zone <= 45 ? CGCS2000_PREFIXED.three + zone - 25 : zone >= 13 && zone <= 23 ? CGCS2000_PREFIXED.six + zone - 13 : null;
    const suggestion = code ? ` (CGCS2000: EPSG:${code})` : '';
    return `the easting ${x.toFixed(0)} starts with zone number ${zone}, which this CRS does not expect: use the zone's CRS with the zone number in the false easting${suggestion}`;
  }
  if (prefixed && x < 1_000_000 && x > 0) {
    const lon0 = crs.tm.lon0;
    const three = Math.abs(lon0 / 3 - Math.round(lon0 / 3)) < 1e-9;
    const code = three ? CGCS2000_UNPREFIXED.three + (lon0 - 75) / 3 : CGCS2000_UNPREFIXED.six + (lon0 - 75) / 6;
    return `the easting ${x.toFixed(0)} has no zone number in front, which this CRS expects: use the CRS without it (CGCS2000 CM ${lon0}E: EPSG:${code})`;
  }
  if (y > 0 && y < 1_000_000 && x > 1_000_000 && !prefixed) return `x ${x.toFixed(0)} looks like a northing and y ${y.toFixed(0)} like an easting: the axes are swapped`;
  return null;
}

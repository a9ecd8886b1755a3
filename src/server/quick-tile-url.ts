import { MAX_ZOOM } from '../domain/tile-coord.js';

/** A plain tile URL, taken apart: `layer` and `version` are unchecked until the catalog resolves them. */
export interface QuickTileAddress {
  layer: string;
  /** null = the current version. */
  version: string | null;
  z: number;
  x: number;
  y: number;
}

const SLASH = 0x2f;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads the common shape of a tile URL, `/tiles/{layer}[@{version}]/{z}/{x}/{y}.mvt|.pbf`
 * up to `end` (the query's start), without the regular expressions, splits and
 * throw-on-failure of the general parser. It accepts only what parseTilePath accepts
 * and reads it the same way; anything else (percent-escapes, composites, another
 * shape, a coordinate out of range) is null, and the caller falls back to the general
 * parser. The layer and version are left for the catalog: only a known layer and
 * version resolve, and those are valid by construction.
 */
export function quickTileAddress(url: string, end: number): QuickTileAddress | null {
  const ext = end - 4;
  if (ext < 13 || url.charCodeAt(ext) !== 0x2e) return null;
  const suffix = url.slice(ext + 1, end);
  if (suffix !== 'mvt' && suffix !== 'pbf') return null;
  const yStart = digitsBefore(url, ext);
  const xStart = yStart < 0 ? -1 : digitsBefore(url, yStart - 1);
  const zStart = xStart < 0 ? -1 : digitsBefore(url, xStart - 1);
  if (zStart < 9) return null;
  const z = integer(url, zStart, xStart - 1);
  const x = integer(url, xStart, yStart - 1);
  const y = integer(url, yStart, ext);
  if (z < 0 || x < 0 || y < 0 || z > MAX_ZOOM) return null;
  const size = 2 ** z;
  if (x >= size || y >= size) return null;
  const specEnd = zStart - 1;
  for (let i = 7; i < specEnd; i++) {
    const c = url.charCodeAt(i);
    // "/" another shape, "%" an escape, "," a composite: the general parser's business.
    if (c === SLASH || c === 0x25 || c === 0x2c) return null;
  }
  const at = url.indexOf('@', 7);
  if (at < 0 || at > specEnd) return { layer: url.slice(7, specEnd), version: null, z, x, y };
  return { layer: url.slice(7, at), version: url.slice(at + 1, specEnd), z, x, y };
}

/** Start of the run of digits that ends at `end`, which must follow a "/"; -1 when there is none. */
function digitsBefore(url: string, end: number): number {
  let i = end;
  while (i > 0) {
    const c = url.charCodeAt(i - 1);
    if (c < ZERO || c > NINE) break;
    i--;
  }
  return i < end && i > 0 && url.charCodeAt(i - 1) === SLASH ? i : -1;
}

/** The value of digits [start, end) as parseTileCoord reads them (no leading zero, at most 10 digits); -1 otherwise. */
function integer(url: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 10 || (n > 1 && url.charCodeAt(start) === ZERO)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (url.charCodeAt(i) - ZERO);
  return v;
}

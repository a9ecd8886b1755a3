/** A tile address in XYZ order (y counted from the north). */
export interface TileCoord {
  z: number;
  x: number;
  y: number;
}

/** The deepest zoom any request may name (SPEC §3.3). */
export const MAX_ZOOM = 30;

const INTEGER = /^(0|[1-9]\d{0,9})$/;

/** Why a tile coordinate was refused; the server maps it to a 400. */
export class TileCoordError extends Error {
  override readonly name = 'TileCoordError';
}

/** Parses z/x/y path segments; throws TileCoordError for anything malformed or out of range. */
export function parseTileCoord(zText: string, xText: string, yText: string): TileCoord {
  if (!INTEGER.test(zText) || !INTEGER.test(xText) || !INTEGER.test(yText)) {
    throw new TileCoordError(`tile coordinates must be non-negative integers, got ${zText}/${xText}/${yText}`);
  }
  const z = Number(zText);
  const x = Number(xText);
  const y = Number(yText);
  if (z > MAX_ZOOM) throw new TileCoordError(`zoom ${z} is beyond the maximum of ${MAX_ZOOM}`);
  const size = 2 ** z;
  if (x >= size || y >= size) throw new TileCoordError(`tile ${z}/${x}/${y} does not exist: x and y must be below ${size}`);
  return { z, x, y };
}

/** Longitude/latitude bounds [west, south, east, north] of a tile. */
export function tileBounds({ z, x, y }: TileCoord): [number, number, number, number] {
  const n = 2 ** z;
  const lon = (v: number): number => (v / n) * 360 - 180;
  const lat = (v: number): number => (Math.atan(Math.sinh(Math.PI * (1 - (2 * v) / n))) * 180) / Math.PI;
  return [lon(x), lat(y + 1), lon(x + 1), lat(y)];
}

/** The tile containing a longitude/latitude at zoom z. */
export function tileForLonLat(lon: number, lat: number, z: number): TileCoord {
  const n = 2 ** z;
  const x = Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n)));
  const r = (lat * Math.PI) / 180;
  const y = Math.min(n - 1, Math.max(0, Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)));
  return { z, x, y };
}

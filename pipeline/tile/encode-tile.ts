import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { GeoJSONVTFeature, GeoJSONVTTile } from '@maplibre/geojson-vt';
import { fromGeojsonVt } from '@maplibre/vt-pbf';

/** MVT extent used by every tile (4096, the MVT default). */
export const TILE_EXTENT = 4096;

/** An encoded tile: plain MVT bytes, their hash, and the gzip body stored and served. */
export interface EncodedTile {
  hash: string;
  plain: Uint8Array;
  gz: Buffer;
}

/** Content hash of plain MVT bytes: the first 128 bits of SHA-256, hex. Used as ETag and blob key. */
export function hashTile(plain: Uint8Array): string {
  return createHash('sha256').update(plain).digest('hex').slice(0, 32);
}

/** Encodes one layer's features as an MVT 2.1 tile, hashes and gzips it (deterministically). */
export function encodeTile(layerName: string, tile: GeoJSONVTTile, features: GeoJSONVTFeature[]): EncodedTile {
  const plain = fromGeojsonVt({ [layerName]: { ...tile, features } }, { version: 2, extent: TILE_EXTENT });
  // gzip of the same bytes with the same level is identical on every machine (mtime is 0).
  const gz = gzipSync(plain, { level: 6 });
  return { hash: hashTile(plain), plain, gz };
}

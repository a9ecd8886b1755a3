import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { GeoJSONVTFeature, GeoJSONVTTile } from '@maplibre/geojson-vt';
import { fromGeojsonVt } from '@maplibre/vt-pbf';
import { TILE_EXTENT } from './tile-options.js';

export { TILE_EXTENT };

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

/** Encodes one layer's features (MVT ids and final attributes already set) as MVT 2.1 bytes. */
export function encodePlain(layerName: string, features: GeoJSONVTFeature[]): Uint8Array {
  // vt-pbf reads only `features` of the tile object; the rest is there to satisfy its type.
  const tile: GeoJSONVTTile = { features, transformed: true, source: null, x: 0, y: 0, z: 0 };
  return fromGeojsonVt({ [layerName]: tile }, { version: 2, extent: TILE_EXTENT });
}

/**
 * gzip of plain tile bytes; the same bytes with the same settings give the same body on
 * every machine (mtime is 0). Level 4: measured on 200k farmland parcels, bodies 1.8%
 * larger than level 6 for about 40% less compression time. memLevel 9 (zlib's largest
 * hash table, 128 KiB more per call than the default 8): on the same tiles, 9% less
 * compression time for bodies 0.06% larger.
 */
export function gzipTile(plain: Uint8Array): Buffer {
  return gzipSync(plain, GZIP_TILE);
}

const GZIP_TILE = { level: 4, memLevel: 9 } as const;

/** Encodes, hashes and gzips a tile (deterministically). */
export function encodeTile(layerName: string, features: GeoJSONVTFeature[]): EncodedTile {
  return encodedFrom(encodePlain(layerName, features));
}

/**
 * A tile of plain MVT bytes, gzipped; its hash is taken when first asked for. The size
 * budget encodes a dense tile several times and keeps one: only that one is hashed.
 */
export function encodedFrom(plain: Uint8Array): EncodedTile {
  let hash: string | undefined;
  return {
    plain,
    gz: gzipTile(plain),
    get hash(): string {
      hash ??= hashTile(plain);
      return hash;
    },
  };
}

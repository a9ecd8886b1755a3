import { GeoJSONVT } from '@maplibre/geojson-vt';
import type { Feature, Geometry } from 'geojson';
import type { TileRecord } from '../../src/store/tile-store.js';
import type { PropertyValue } from '../ingest/source-feature.js';
import { cleanTileFeatures } from './clean-tile.js';
import { encodeTile, TILE_EXTENT } from './encode-tile.js';

/** How a layer is cut into tiles. */
export interface TileOptions {
  layerName: string;
  minzoom: number;
  maxzoom: number;
  /** Simplification tolerance in tile units at each zoom's scale (geojson-vt's, per 256 px). */
  tolerance: number;
  /** Buffer in MVT units (of 4096). */
  buffer: number;
}

/**
 * Cuts features into tiles over [minzoom, maxzoom], walking the pyramid depth-first
 * from 0/0/0 and descending only into tiles that have data. Tiles come out in a
 * fixed order (z-order of the walk), so the output is deterministic.
 */
export function* tileLayer(features: Feature<Geometry, Record<string, PropertyValue>>[], options: TileOptions): Generator<TileRecord> {
  const index = new GeoJSONVT(
    { type: 'FeatureCollection', features },
    {
      maxZoom: options.maxzoom,
      indexMaxZoom: Math.min(options.maxzoom, 5),
      indexMaxPoints: 100_000,
      tolerance: options.tolerance,
      extent: TILE_EXTENT,
      buffer: options.buffer,
    },
  );
  yield* walk(index, 0, 0, 0, options);
}

function* walk(index: GeoJSONVT, z: number, x: number, y: number, options: TileOptions): Generator<TileRecord> {
  const tile = index.getTile(z, x, y);
  // null means no data below; an empty tile (features simplified away at this zoom) still has children.
  if (!tile) return;
  if (z >= options.minzoom && tile.features.length) {
    const features = cleanTileFeatures(tile);
    if (features.length) {
      const encoded = encodeTile(options.layerName, tile, features);
      yield { z, x, y, hash: encoded.hash, gz: encoded.gz, plainSize: encoded.plain.length };
    }
  }
  if (z >= options.maxzoom) return;
  for (const [dx, dy] of CHILDREN) yield* walk(index, z + 1, x * 2 + dx, y * 2 + dy, options);
}

const CHILDREN: readonly [number, number][] = [[0, 0], [1, 0], [0, 1], [1, 1]];

import { GeoJSONVT, type GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { cleanTileFeatures } from './clean-tile.js';
import { GeometryCode } from './feature-geometry.js';
import { toGeojson, type FeatureTable } from './feature-table.js';
import type { TileKey } from './tile-job.js';
import { TILE_EXTENT, zoomSettings, type TilingOptions } from './tile-options.js';

// How a tile's features are cut with geojson-vt from the packed table: which candidates
// can show at a zoom, one index over many features, or a dense tile's in chunks.

/** Features one index holds when a dense tile is cut on its own. */
const CHUNK_FEATURES = 16_000;

/**
 * Tile t's cleaned features from `subset`, built in chunks so memory stays bounded however
 * dense the tile: the tile of a chunk is the tile of all with the others left out, and
 * chunks taken in source order concatenate in source order.
 */
export function cutInChunks(table: FeatureTable, options: TilingOptions, t: TileKey, subset: Int32Array): GeoJSONVTFeature[] {
  const s = zoomSettings(options, t.z);
  const features: GeoJSONVTFeature[] = [];
  for (let from = 0; from < subset.length; from += CHUNK_FEATURES) {
    const chunk = subset.subarray(from, from + CHUNK_FEATURES);
    const index = new GeoJSONVT(
      { type: 'FeatureCollection', features: Array.from(chunk, (i) => toGeojson(table, i)) },
      { maxZoom: options.maxzoom, indexMaxZoom: 0, indexMaxPoints: 0, tolerance: s.tolerance, extent: TILE_EXTENT, buffer: s.buffer },
    );
    for (const f of cleanTileFeatures(index.getTile(t.z, t.x, t.y)?.features ?? [])) features.push(f);
  }
  return features;
}

/**
 * The features of `candidates` that can appear at zoom z: on layers that may drop, those
 * that geojson-vt's own size test removes at z are left out, since they add nothing to a
 * tile (one too small at z is too small at every shallower zoom of the same tolerance).
 * A margin leaves features at the threshold for geojson-vt to decide. Drop: never layers
 * keep all (their owners need tiles).
 */
export function visibleAt(table: FeatureTable, options: TilingOptions, candidates: Int32Array, z: number): Int32Array {
  if (options.drop === 'never' || z >= options.maxzoom) return candidates;
  const unit = zoomSettings(options, z).tolerance / (2 ** z * TILE_EXTENT);
  const area = unit * unit * 0.99;
  const length = unit * 0.99;
  // A loop, not TypedArray filter: a dense tile has 10^5 candidates, and filter calls a closure for each.
  const out = new Int32Array(candidates.length);
  let k = 0;
  for (const i of candidates) {
    const kind = table.kinds[i] as GeometryCode;
    const polygon = kind === GeometryCode.Polygon || kind === GeometryCode.MultiPolygon;
    if ((table.keepSize[i] as number) >= (polygon ? area : length)) out[k++] = i;
  }
  return out.slice(0, k);
}

/** A geojson-vt index over the features of `candidates` visible at the deepest of `zooms` (which share settings). */
export function buildIndex(table: FeatureTable, options: TilingOptions, candidates: Int32Array, zooms: number[]): GeoJSONVT {
  const s = zoomSettings(options, zooms[0] as number);
  const features = Array.from(visibleAt(table, options, candidates, Math.max(...zooms)), (i) => toGeojson(table, i));
  return new GeoJSONVT(
    { type: 'FeatureCollection', features },
    { maxZoom: options.maxzoom, indexMaxZoom: 0, indexMaxPoints: 0, tolerance: s.tolerance, extent: TILE_EXTENT, buffer: s.buffer },
  );
}

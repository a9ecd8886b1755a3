import type { LayerConfig } from '../../src/config/schema.js';
import { zoomRangeOf } from '../../src/domain/zoom-range.js';

/** MVT extent used by every tile (4096, the MVT default). */
export const TILE_EXTENT = 4096;

/** How tiles of one zoom are cut. */
export interface ZoomSettings {
  /** geojson-vt simplification tolerance, in tile units. */
  tolerance: number;
  /** Buffer around the tile, in tile units. */
  buffer: number;
  /** Attributes kept in tiles of this zoom, in order; null = every attribute of the feature. */
  fields: string[] | null;
}

/**
 * Everything that decides a layer's tile bytes besides its features. Plain data, so it
 * crosses to tiling workers as it is; `tilingKey` of two equal options is equal.
 */
export interface TilingOptions {
  layerName: string;
  minzoom: number;
  maxzoom: number;
  /** Settings of each zoom 0..maxzoom (index = zoom). */
  zooms: ZoomSettings[];
  /** Gzipped byte budget of one tile. */
  maxTileBytes: number;
  /** Whether the budget may drop features ("smallest") or every feature stays at every zoom ("never"). */
  drop: 'smallest' | 'never';
  /**
   * Candidates above which a drop: smallest tile is first sized from a sample: more than
   * the budget holds at SAMPLE_BYTES_PER_FEATURE each (a tiling rule, not a config key).
   */
  sampleAbove: number;
}

/** Few features with an id and attributes take under this many gzipped bytes, so more than budget / 32 candidates likely overflow. */
export const SAMPLE_BYTES_PER_FEATURE = 32;

/** Version of the tiling rules; part of `tilingKey`, so a change of the rules forces a full rebuild. */
export const TILING_RULES_VERSION = 3;

/** Resolves a layer's configuration into per-zoom tiling options. */
export function resolveTilingOptions(layer: LayerConfig): TilingOptions {
  const zooms: ZoomSettings[] = [];
  for (let z = 0; z <= layer.maxzoom; z++) {
    zooms.push({
      tolerance: valueAtZoom(layer.tolerance, z, 3),
      buffer: valueAtZoom(layer.buffer, z, 64),
      fields: valueAtZoom(layer.fieldsByZoom ?? {}, z, layer.fields ?? null),
    });
  }
  return {
    layerName: layer.id, minzoom: layer.minzoom, maxzoom: layer.maxzoom, zooms,
    maxTileBytes: layer.maxTileBytes, drop: layer.drop, sampleAbove: Math.ceil(layer.maxTileBytes / SAMPLE_BYTES_PER_FEATURE),
  };
}

/** A string equal for two options that cut identical tiles from identical features. */
export function tilingKey(options: TilingOptions): string {
  return JSON.stringify([TILING_RULES_VERSION, options]);
}

/** The settings of zoom z (z within 0..maxzoom). */
export function zoomSettings(options: TilingOptions, z: number): ZoomSettings {
  const s = options.zooms[z];
  if (!s) throw new RangeError(`zoom ${z} is outside 0..${options.maxzoom}`);
  return s;
}

/** The largest buffer of any zoom, in tile units: features are selected for a piece with it. */
export function maxBuffer(options: TilingOptions): number {
  return Math.max(...options.zooms.map((s) => s.buffer));
}

function valueAtZoom<T>(setting: T | Record<string, T>, z: number, fallback: T): T {
  if (!isZoomRecord(setting)) return setting;
  for (const [key, value] of Object.entries(setting)) {
    const range = zoomRangeOf(key);
    if (range && z >= range[0] && z <= range[1]) return value;
  }
  return fallback;
}

function isZoomRecord<T>(setting: T | Record<string, T>): setting is Record<string, T> {
  return typeof setting === 'object' && setting !== null && !Array.isArray(setting);
}

import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { ringArea } from './clean-tile.js';
import { GeometryCode } from './feature-geometry.js';
import { anchorOf, type FeatureTable } from './feature-table.js';
import type { TileKey } from './tile-job.js';
import { TILE_EXTENT } from './tile-options.js';

/** Side of a stand-in shape in tile units: one pixel of a tile drawn at 512 px. */
export const STAND_IN_SIZE = TILE_EXTENT / 512;

/**
 * For drop: never layers. Every feature the tile owns (its anchor, a point on the
 * feature, lies in the tile) must be in the tile; one that simplification or cleaning
 * removed comes back as a pixel-sized shape at its anchor. Features keep source order.
 * `features` carry table indices as ids.
 */
export function addStandIns(features: GeoJSONVTFeature[], owned: Int32Array, table: FeatureTable, tile: TileKey): GeoJSONVTFeature[] {
  if (!owned.length) return features;
  const present = new Set<number>();
  for (const f of features) present.add(f.id as number);
  const added: GeoJSONVTFeature[] = [];
  for (const i of owned) if (!present.has(i)) added.push(standIn(table, i, tile));
  if (!added.length) return features;
  return [...features, ...added].sort((a, b) => (a.id as number) - (b.id as number));
}

/** Table indices of `candidates` whose anchor lies in the tile (not its buffer). */
export function ownedBy(table: FeatureTable, candidates: Int32Array, tile: TileKey): Int32Array {
  const n = 2 ** tile.z;
  const a = table.anchors;
  const out: number[] = [];
  for (const i of candidates) {
    if (Math.min(n - 1, Math.floor((a[2 * i] as number) * n)) === tile.x && Math.min(n - 1, Math.floor((a[2 * i + 1] as number) * n)) === tile.y) out.push(i);
  }
  return Int32Array.from(out);
}

function standIn(table: FeatureTable, i: number, tile: TileKey): GeoJSONVTFeature {
  const [ax, ay] = anchorOf(table, i);
  const n = 2 ** tile.z;
  const s = STAND_IN_SIZE;
  const x = clamp(Math.round(TILE_EXTENT * (ax * n - tile.x)), 0, TILE_EXTENT - s);
  const y = clamp(Math.round(TILE_EXTENT * (ay * n - tile.y)), 0, TILE_EXTENT - s);
  const kind = table.kinds[i] as GeometryCode;
  if (kind === GeometryCode.Point || kind === GeometryCode.MultiPoint) return { id: i, type: 1, tags: null, geometry: [[x, y]] };
  if (kind === GeometryCode.LineString || kind === GeometryCode.MultiLineString) {
    return { id: i, type: 2, tags: null, geometry: [[[x, y], [x + s, y]]] };
  }
  const ring: [number, number][] = [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];
  // MVT exteriors have positive area in y-down tile space.
  if (ringArea(ring) < 0) ring.reverse();
  return { id: i, type: 3, tags: null, geometry: [ring] };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

import type { FeatureTable } from './feature-table.js';
import { tileNumber, type TileJob, type TileKey } from './tile-job.js';
import { maxBuffer, TILE_EXTENT, zoomSettings, type TilingOptions } from './tile-options.js';

/**
 * Features (at most) a subtree piece holds; a tile touched by more is "heavy" and cut in a band.
 * Two pieces are cut at once on two cores, and a piece's geojson-vt index down to maxzoom is
 * most of a worker's memory: on the 200k-parcel benchmark (z10 tiles of 13,860 parcels, so
 * 14,000 made them pieces) the full publish peaked at 860-980 MiB, with 10,000 (a z10 tile
 * is cut alone, its z11 children are pieces) at 780-810 MiB, in the same time.
 */
export const PIECE_FEATURES = 10_000;

/** Widening of every box test (world units, ~1 cm at the equator), so rounding never leaves a feature out. */
const EPSILON = 1e-9;

/**
 * Plans the jobs that cut a layer, or only `targets` (an incremental republish). From
 * 0/0/0 down, a tile touched by at most `pieceFeatures` features (or at maxzoom) is a
 * piece: one job cuts its subtree. A tile touched by more is heavy, and a job of its own
 * (cut in chunks, or from its largest features when the budget will drop). Jobs come
 * biggest first, so the workers finish close together.
 */
export function planJobs(table: FeatureTable, options: TilingOptions, targets: readonly TileKey[] | null, pieceFeatures = PIECE_FEATURES): TileJob[] {
  const jobs: TileJob[] = [];
  const margin = maxBuffer(options) / TILE_EXTENT;
  const visit = (t: TileKey, features: Int32Array, wanted: TileKey[] | null): void => {
    if (!features.length || (wanted && !wanted.length)) return;
    if (t.z >= options.maxzoom || features.length <= pieceFeatures) {
      // Recomputing some tiles of a piece needs only the features touching those tiles.
      jobs.push(wanted ? { root: t, features: touchingAny(table, features, t, wanted, margin), tiles: wanted } : { root: t, features, tiles: 'subtree' });
      return;
    }
    if (t.z >= options.minzoom && (!wanted || wanted.some((k) => k.z === t.z))) jobs.push({ root: t, features, tiles: [t], single: true });
    for (const child of childrenOf(t)) {
      const below = wanted && wanted.filter((k) => k.z > t.z && isUnder(k, child));
      // A child with no tile asked for is not searched for its features.
      if (!below || below.length) visit(child, touching(table, features, child, margin), below);
    }
  };
  visit({ z: 0, x: 0, y: 0 }, allFeatures(table), targets ? [...targets] : null);
  return jobs.sort((a, b) => b.features.length - a.features.length || a.root.z - b.root.z || a.root.x - b.root.x || a.root.y - b.root.y);
}

/**
 * Every tile in the layer's zoom range that a box (world units) touches with the zoom's
 * buffer: the tiles whose content a feature with that bounding box can change.
 */
export function tilesTouchingBox(box: ArrayLike<number>, options: TilingOptions, add: (t: TileKey) => void): void {
  const [minX, minY, maxX, maxY] = [box[0] as number, box[1] as number, box[2] as number, box[3] as number];
  for (let z = options.minzoom; z <= options.maxzoom; z++) {
    const n = 2 ** z;
    const m = zoomSettings(options, z).buffer / TILE_EXTENT / n + EPSILON;
    const x0 = Math.max(0, Math.floor((minX - m) * n));
    const x1 = Math.min(n - 1, Math.floor((maxX + m) * n));
    const y0 = Math.max(0, Math.floor((minY - m) * n));
    const y1 = Math.min(n - 1, Math.floor((maxY + m) * n));
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) add({ z, x, y });
  }
}

/** Indices (ascending) of `features` whose bounding box touches the tile widened by `margin` tiles. */
export function touching(table: FeatureTable, features: Int32Array, t: TileKey, margin: number): Int32Array {
  const n = 2 ** t.z;
  const minX = (t.x - margin) / n - EPSILON;
  const maxX = (t.x + 1 + margin) / n + EPSILON;
  const minY = (t.y - margin) / n - EPSILON;
  const maxY = (t.y + 1 + margin) / n + EPSILON;
  const out = new Int32Array(features.length);
  let k = 0;
  const b = table.bbox;
  for (const i of features) {
    const o = i * 4;
    if ((b[o + 2] as number) >= minX && (b[o] as number) <= maxX && (b[o + 3] as number) >= minY && (b[o + 1] as number) <= maxY) out[k++] = i;
  }
  return out.slice(0, k);
}

/**
 * The features of a job touching each of its tiles, a tile's found among its parent's:
 * a child's buffered box lies within its parent's (the margin is a fixed share of the
 * tile), so the result is touching()'s over all the job's features, but a job of many
 * deep tiles no longer tests every feature against each of them. `features` are those
 * touching `root` (TileJob.features), so the root's are all of them.
 */
export class TouchingTiles {
  private readonly found = new Map<number, Int32Array>();

  constructor(private readonly table: FeatureTable, private readonly features: Int32Array, private readonly root: TileKey, private readonly margin: number) {}

  /** The features touching `t`, the root or a tile under it. */
  of(t: TileKey): Int32Array {
    if (t.z <= this.root.z) return this.features;
    const key = tileNumber(t.z, t.x, t.y);
    let hit = this.found.get(key);
    if (!hit) {
      hit = touching(this.table, this.of({ z: t.z - 1, x: t.x >> 1, y: t.y >> 1 }), t, this.margin);
      this.found.set(key, hit);
    }
    return hit;
  }
}

/** Indices (ascending) of `features` (those touching `root`) touching any of `tiles` (all under `root`). */
function touchingAny(table: FeatureTable, features: Int32Array, root: TileKey, tiles: readonly TileKey[], margin: number): Int32Array {
  if (tiles.length > 64) return features;
  const near = new TouchingTiles(table, features, root, margin);
  const marks = new Uint8Array(table.count);
  for (const t of tiles) for (const i of near.of(t)) marks[i] = 1;
  return features.filter((i) => marks[i] === 1);
}

function allFeatures(table: FeatureTable): Int32Array {
  const all = new Int32Array(table.count);
  for (let i = 0; i < table.count; i++) all[i] = i;
  return all;
}

function childrenOf(t: TileKey): TileKey[] {
  const z = t.z + 1;
  return [{ z, x: t.x * 2, y: t.y * 2 }, { z, x: t.x * 2 + 1, y: t.y * 2 }, { z, x: t.x * 2, y: t.y * 2 + 1 }, { z, x: t.x * 2 + 1, y: t.y * 2 + 1 }];
}

function isUnder(k: TileKey, t: TileKey): boolean {
  const d = k.z - t.z;
  return d >= 0 && k.x >> d === t.x && k.y >> d === t.y;
}

import { IdIndex } from '../tile/id-index.js';
import type { FeatureTable } from '../tile/feature-table.js';
import { tileNumber, type TileKey } from '../tile/tile-job.js';
import type { TilingOptions } from '../tile/tile-options.js';
import { tilesTouchingBox } from '../tile/tile-plan.js';
import type { Fingerprints } from './feature-set.js';

/** How the features of a republish differ from the current version's. */
export interface FeatureChanges {
  added: number;
  removed: number;
  /** Same id, different geometry or attributes. */
  changed: number;
  /** Unchanged, but moved relative to the others in the source (tile feature order follows the source). */
  reordered: number;
}

/** The tiles an incremental republish recomputes; every other tile is carried over by hash. */
export interface RepublishPlan {
  changes: FeatureChanges;
  tiles: TileKey[];
  /** 1 for each feature (new table index) whose id and fingerprint the current version has: its geometry is unchanged. */
  reusable: Uint8Array;
}

/** Share of changed features above which a full build is done instead (it is then no slower). */
const FULL_BUILD_SHARE = 0.3;

/**
 * Compares the new features with the fingerprints of the current version (by id) and
 * lists every tile that the old or the new geometry of an added, removed, changed or
 * reordered feature touches, at every zoom. A tile's bytes depend only on the features
 * touching it and their order, so every other tile is unchanged. Returns null when so
 * much changed that a full build is the better path.
 */
export function planRepublish(previous: Fingerprints, table: FeatureTable, options: TilingOptions): RepublishPlan | null {
  const oldIndex = IdIndex.build(previous.ids, previous.count);
  const changes: FeatureChanges = { added: 0, removed: 0, changed: 0, reordered: 0 };
  const touched = new Map<number, TileKey>();
  const touch = (box: ArrayLike<number>): void => tilesTouchingBox(box, options, (t) => touched.set(tileNumber(t.z, t.x, t.y), t));
  // The unchanged features' new and old table indices, as typed arrays: nearly all of a layer.
  const keptNew = new Int32Array(table.count);
  const keptOld = new Int32Array(table.count);
  let kept = 0;
  const matched = new Uint8Array(previous.count);
  const reusable = new Uint8Array(table.count);
  // Most features follow the one before them in both versions: that guess is checked
  // before the index is asked (a probe into a table of the layer's size). Where an id
  // occurs twice, the index's answer (the later one) is the one taken.
  const guess = !oldIndex.duplicates;
  let next = 0;
  for (let i = 0; i < table.count; i++) {
    const id = table.ids[i] as number;
    const j = guess && next < previous.count && previous.ids[next] === id ? next : oldIndex.get(id);
    if (j >= 0) next = j + 1;
    if (j < 0) {
      changes.added++;
      touch(table.bbox.subarray(i * 4, i * 4 + 4));
      continue;
    }
    matched[j] = 1;
    if (table.hashes[2 * i] === previous.hashes[2 * j] && table.hashes[2 * i + 1] === previous.hashes[2 * j + 1]) {
      keptNew[kept] = i;
      keptOld[kept++] = j;
      reusable[i] = 1;
      continue;
    }
    changes.changed++;
    touch(previous.bbox.subarray(j * 4, j * 4 + 4));
    touch(table.bbox.subarray(i * 4, i * 4 + 4));
  }
  for (let j = 0; j < previous.count; j++) {
    if (matched[j]) continue;
    changes.removed++;
    touch(previous.bbox.subarray(j * 4, j * 4 + 4));
  }
  const inOrder = longestIncreasing(keptOld.subarray(0, kept));
  for (let k = 0; k < kept; k++) {
    if (inOrder[k]) continue;
    const i = keptNew[k] as number;
    changes.reordered++;
    touch(table.bbox.subarray(i * 4, i * 4 + 4));
  }
  const moved = changes.added + changes.removed + changes.changed + changes.reordered;
  if (moved > FULL_BUILD_SHARE * Math.max(table.count, previous.count)) return null;
  return { changes, tiles: [...touched.values()], reusable };
}

/**
 * Marks the members of one longest strictly increasing subsequence of `seq`: the
 * unchanged features that kept their relative order. The others moved.
 */
export function longestIncreasing(seq: ArrayLike<number>): Uint8Array {
  // Mostly nothing moved: then the whole sequence is increasing, found in one pass.
  let sorted = true;
  for (let k = 1; k < seq.length && sorted; k++) sorted = (seq[k] as number) > (seq[k - 1] as number);
  if (sorted) return new Uint8Array(seq.length).fill(1);
  const tails: number[] = []; // position in seq of the smallest tail of an increasing run of each length
  const prev = new Int32Array(seq.length).fill(-1);
  for (let k = 0; k < seq.length; k++) {
    const v = seq[k] as number;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((seq[tails[mid] as number] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[k] = tails[lo - 1] as number;
    tails[lo] = k;
  }
  const member = new Uint8Array(seq.length);
  for (let k = tails.length ? (tails[tails.length - 1] as number) : -1; k >= 0; k = prev[k] as number) member[k] = 1;
  return member;
}

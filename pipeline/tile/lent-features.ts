import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import type { IdIndex } from './id-index.js';
import { LentFeature, PreviousLayer } from './previous-layer.js';

/**
 * The features one previous layer lends to a tile, by table index: arrays over the whole
 * table, valid for the tile they were filled for (a TileIndexSet), so that a thread
 * reuses them from tile to tile. A dense tile looks up 10^4-10^5 candidates several times
 * over (once per encoding the budget tries); a Map per tile cost more than cutting its
 * changed features.
 */
export class LentFeatures {
  /** Which table indices the layer lends this tile. */
  private readonly lends: TileIndexSet;
  /** A lent feature's place in the previous layer, by table index (valid where `lends` has it). */
  private readonly ref: Int32Array;
  private layer: PreviousLayer | null = null;
  /** The lent features made so far, by place in the layer: made when first asked for (a thinned tile asks for few), then the same object. */
  private made: (GeoJSONVTFeature | undefined)[] = [];

  constructor(tableSize: number) {
    this.lends = new TileIndexSet(tableSize);
    this.ref = new Int32Array(tableSize);
  }

  /** Starts over with the features of `layer` (none when null) whose MVT id `byId` finds: an unchanged feature's table index. */
  fill(layer: PreviousLayer | null, byId: IdIndex): void {
    this.lends.clear();
    this.layer = layer;
    // Sized up front, so the array keeps fast elements however its places are filled.
    this.made = new Array<GeoJSONVTFeature | undefined>(layer?.count ?? 0);
    if (!layer) return;
    for (let ref = 0; ref < layer.count; ref++) {
      const i = byId.get(layer.ids[ref] as number);
      if (i < 0) continue;
      // A later feature of the same id replaces an earlier one.
      this.lends.add(i);
      this.ref[i] = ref;
    }
  }

  /** The feature lent for table index i, if any. */
  get(i: number): GeoJSONVTFeature | undefined {
    if (!this.lends.has(i)) return undefined;
    const ref = this.ref[i] as number;
    let f = this.made[ref];
    if (!f) {
      f = new LentFeature(this.layer as PreviousLayer, ref, i).asTileFeature();
      this.made[ref] = f;
    }
    return f;
  }

  has(i: number): boolean {
    return this.lends.has(i);
  }
}

/**
 * A set of table indices, emptied per tile in constant time (stamped like LentFeatures):
 * which features a tile lent, which it cut again.
 */
export class TileIndexSet {
  private readonly stamp: Uint32Array;
  private tile = 0;
  private count = 0;

  constructor(tableSize: number) {
    this.stamp = new Uint32Array(tableSize);
  }

  clear(): void {
    this.count = 0;
    this.tile = (this.tile + 1) >>> 0;
    if (this.tile === 0) {
      this.stamp.fill(0);
      this.tile = 1;
    }
  }

  add(i: number): void {
    if (this.stamp[i] === this.tile) return;
    this.stamp[i] = this.tile;
    this.count++;
  }

  has(i: number): boolean {
    return this.stamp[i] === this.tile;
  }

  get size(): number {
    return this.count;
  }
}

/** What one thread's incremental tiles reuse: three lenders (a tile, its body before simplification, its sample) and two sets. */
export interface LendingScratch {
  kept: LentFeatures;
  simplified: LentFeatures;
  sampled: LentFeatures;
  used: TileIndexSet;
  cut: TileIndexSet;
}

let scratch: { tableSize: number; lending: LendingScratch } | null = null;

/**
 * This thread's lending scratch for a table of `tableSize` features (made once per thread,
 * again only for a larger table). It serves one tile at a time: each tile fills or clears
 * what it uses before it reads it.
 */
export function lendingScratch(tableSize: number): LendingScratch {
  if (!scratch || scratch.tableSize < tableSize) {
    scratch = {
      tableSize,
      lending: {
        kept: new LentFeatures(tableSize), simplified: new LentFeatures(tableSize), sampled: new LentFeatures(tableSize),
        used: new TileIndexSet(tableSize), cut: new TileIndexSet(tableSize),
      },
    };
  }
  return scratch.lending;
}

/** Lets go of this thread's lending scratch (a thread kept between publishes, sized for the last layer). */
export function releaseLendingScratch(): void {
  scratch = null;
}

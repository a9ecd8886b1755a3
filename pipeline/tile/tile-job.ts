/** A tile address, z/x/y in XYZ order. */
export interface TileKey {
  z: number;
  x: number;
  y: number;
}

/**
 * A piece of tiling work. Its input is every feature touching the root tile (with the
 * largest buffer), in source order; memory is bounded by that, not by the layer.
 */
export interface TileJob {
  root: TileKey;
  /** Table indices of the features touching the root, ascending. */
  features: Int32Array;
  /** "subtree": every tile under the root (the root included) down to maxzoom; else exactly these tiles, all under the root. */
  tiles: 'subtree' | TileKey[];
  /**
   * Cut each listed tile (a heavy one) on its own, building indexes in chunks and only over
   * the features its size budget keeps; else one index serves all the job's tiles.
   */
  single?: boolean;
  /** An incremental job's previous tiles, by position in `tiles` (null where none can lend features). */
  previous?: (PreviousTile | null)[];
}

/** The current version's tile at an address, lending its unchanged features' geometry to an incremental republish. */
export interface PreviousTile {
  gz: Uint8Array;
  /** True when the size budget did not thin it: it holds every feature that has a shape there. */
  complete: boolean;
  /** For a tile the budget simplified (then `gz` is its body before): the tile as stored, holding the features' simplified shapes. */
  simplified?: Uint8Array;
  /** For a tile the budget thinned after sizing it from a sample: the sample's gzip body, which lends the sample's features. */
  sample?: Uint8Array;
}

/** How the size budget changed a tile. */
export interface BudgetNote {
  /** Gzipped bytes before and after. */
  before: number;
  after: number;
  /** Simplification tolerance applied on top of the zoom's (tile units), 0 when none. */
  simplifiedTo: number;
  /** Candidate features left out, smallest first (some would not have shown anyway); 0 for drop: never layers. */
  dropped: number;
  /**
   * Features the simplification removed (rings smaller than the tolerance squared, lines
   * shorter than it), besides `dropped`; 0 on drop: never layers, where they come back as stand-ins.
   */
  simplifiedAway: number;
  /** True when the tile is still over the budget (a drop: never layer that cannot shrink enough). */
  over: boolean;
}

/** One finished tile, as a worker hands it back. */
export interface TileOutput extends TileKey {
  hash: string;
  gz: Uint8Array;
  plainSize: number;
  /** Table indices of the features the tile holds (kept for drop: never layers only, else empty). */
  present: Int32Array;
  budget: BudgetNote | null;
  /** Features whose geometry was read back from the previous version's tile instead of cut again (incremental republish). */
  reused: number;
  /** A tile the budget simplified (drop: smallest layers): its gzip body before, kept so a later republish can read features back. */
  unsimplified?: Uint8Array;
  /** A tile the budget thinned after sizing it from a sample (drop: smallest layers): the sample's gzip body, kept so a later republish can read its features back. */
  sample?: Uint8Array;
}

/** A string key of a tile address. */
export function tileKeyString(t: TileKey): string {
  return `${t.z}/${t.x}/${t.y}`;
}

/** A number naming a tile address uniquely (z <= 24), for sets and maps. */
export function tileNumber(z: number, x: number, y: number): number {
  return (z * 2 ** 24 + x) * 2 ** 24 + y;
}

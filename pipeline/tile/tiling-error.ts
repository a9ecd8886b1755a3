import type { TileKey } from './tile-job.js';

/** Tiling could not finish a piece of a layer (a worker failed or exited); names the layer and the piece. */
export class TilingError extends Error {
  override readonly name = 'TilingError';
  constructor(readonly layer: string, readonly piece: TileKey | null, problem: string) {
    super(`layer ${layer}: tiling ${piece ? `the piece under ${piece.z}/${piece.x}/${piece.y}` : ''} failed: ${problem}`);
  }
}

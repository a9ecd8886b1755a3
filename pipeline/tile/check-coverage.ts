import { PipelineError } from '../pipeline-error.js';
import { anchorOf, type FeatureTable } from './feature-table.js';
import { tileNumber, type TileOutput } from './tile-job.js';
import type { TilingOptions } from './tile-options.js';

/**
 * The check after tiling a drop: never layer: every source feature appears at every
 * zoom of the range. An incremental republish recomputes some tiles and carries the
 * rest by hash; a feature whose own tile (the one holding its anchor) was carried is
 * there because the carried tile is byte-identical to one that passed this check.
 */
export class CoverageCheck {
  private readonly seen = new Map<number, Uint8Array>();

  /** `recomputed` holds the tileNumber of every tile cut in this run; null means every tile was. */
  constructor(private readonly table: FeatureTable, private readonly options: TilingOptions, private readonly recomputed: Set<number> | null) {
    for (let z = options.minzoom; z <= options.maxzoom; z++) this.seen.set(z, new Uint8Array(table.count));
  }

  /** Records the features a finished tile holds. */
  add(tile: TileOutput): void {
    const marks = this.seen.get(tile.z);
    if (marks) for (const i of tile.present) marks[i] = 1;
  }

  /** Throws a PipelineError naming the first feature missing from a zoom. */
  verify(file: string, describe: (i: number) => string): void {
    for (const [z, marks] of this.seen) {
      const n = 2 ** z;
      for (let i = 0; i < this.table.count; i++) {
        if (marks[i]) continue;
        const [ax, ay] = anchorOf(this.table, i);
        const owner = tileNumber(z, Math.min(n - 1, Math.floor(ax * n)), Math.min(n - 1, Math.floor(ay * n)));
        if (this.recomputed && !this.recomputed.has(owner)) continue;
        throw new PipelineError(
          { file, feature: describe(i) },
          `is missing from zoom ${z} of layer ${this.options.layerName}, which is drop: never (every feature must appear at every zoom)`,
        );
      }
    }
  }
}

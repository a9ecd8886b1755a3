import { PipelineError } from '../pipeline-error.js';
import type { FeatureTable } from './feature-table.js';

/**
 * Most tiles one feature's bounding box may cover at the layer's maxzoom (2^22, all of
 * zoom 11). A province at z17 is under it; a polygon of the whole world at z12 (16.8
 * million tiles, more than a JavaScript Map holds) or of all China at z14 is over it.
 */
export const MAX_FEATURE_TILES = 2 ** 22;

/**
 * Fails naming the feature whose bounding box covers more than MAX_FEATURE_TILES tiles at
 * `maxzoom` (the largest such), before tiling sets out to cut them all.
 */
export function checkTileReach(table: FeatureTable, maxzoom: number, file: string, describe: (i: number) => string): void {
  const n = 2 ** maxzoom;
  let worst = -1;
  let most = MAX_FEATURE_TILES;
  const b = table.bbox;
  for (let i = 0; i < table.count; i++) {
    const o = i * 4;
    const cols = Math.floor((b[o + 2] as number) * n) - Math.floor((b[o] as number) * n) + 1;
    const rows = Math.floor((b[o + 3] as number) * n) - Math.floor((b[o + 1] as number) * n) + 1;
    if (cols * rows > most) [most, worst] = [cols * rows, i];
  }
  if (worst < 0) return;
  throw new PipelineError(
    { file, feature: describe(worst) },
    `covers ${most.toLocaleString('en')} tiles at zoom ${maxzoom}, over the ${MAX_FEATURE_TILES.toLocaleString('en')} one feature may (is its CRS right? else lower the layer's maxzoom or split it)`,
  );
}

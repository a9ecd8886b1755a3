import os from 'node:os';
import type { Carry } from './cut-job.js';
import type { FeatureTable } from './feature-table.js';
import { runJobs, type TilingThreads } from './run-jobs.js';
import type { PreviousTile, TileKey, TileOutput } from './tile-job.js';
import type { TilingOptions } from './tile-options.js';
import { planJobs } from './tile-plan.js';

/** How to cut a layer. */
export interface TileLayerRun {
  /** Worker threads (0 = this thread); default: one per core. */
  workers?: number;
  /** Recompute only these tiles (an incremental republish); default: every tile of the layer. */
  only?: readonly TileKey[];
  /** Receives finished tiles in batches (on this thread). */
  onTiles(tiles: TileOutput[]): void;
  /** Fraction of the work done, 0–1. */
  onProgress?(done: number): void;
  /** Most features a piece holds (memory per job); never changes a tile's bytes. */
  pieceFeatures?: number;
  /** Worker threads started ahead, taken before any is started. */
  threads?: TilingThreads | undefined;
  /**
   * With `only`: what the previous version lends. `tile` gives its tile at an address (null
   * where it cannot lend features); `carry` says which features are unchanged.
   */
  previous?: { tile(t: TileKey): PreviousTile | null; carry: Carry };
}

/** The default number of tiling workers: every core the process may use. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

/**
 * Cuts a packed layer into tiles over its zoom range, in pieces bounded in size, on
 * worker threads. Every tile comes out exactly once; their bytes never depend on the
 * number of workers or on which tiles were asked for.
 */
export async function tileLayer(table: FeatureTable, options: TilingOptions, run: TileLayerRun): Promise<void> {
  const jobs = planJobs(table, options, run.only ?? null, run.pieceFeatures);
  const previous = run.only ? run.previous : undefined;
  // Work is roughly the features a job reads, once per zoom it cuts.
  const weight = (j: (typeof jobs)[number]): number =>
    j.features.length * (j.tiles === 'subtree' ? options.maxzoom - j.root.z + 1 : new Set(j.tiles.map((t) => t.z)).size);
  const total = jobs.reduce((sum, j) => sum + weight(j), 0) || 1;
  let done = 0;
  await runJobs(table, options, jobs, {
    workers: run.workers ?? defaultWorkers(),
    carry: previous?.carry,
    threads: run.threads,
    // Previous tiles are read as their job is handed out, while workers cut the jobs before it.
    prepare: previous ? (job) => {
      if (job.tiles !== 'subtree') job.previous = job.tiles.map((t) => previous.tile(t));
    } : undefined,
    onTiles: run.onTiles,
    onJobDone: (job) => {
      done += weight(job);
      run.onProgress?.(done / total);
    },
  });
}

import { parentPort, workerData } from 'node:worker_threads';
import { cutJob, type Carry } from './cut-job.js';
import type { FeatureTable } from './feature-table.js';
import type { TileJob, TileOutput } from './tile-job.js';
import type { TilingOptions } from './tile-options.js';

/** Messages between the pool and a tiling worker. */
export type ToWorker = { type: 'job'; id: number; job: TileJob };
export type FromWorker =
  | { type: 'tiles'; id: number; tiles: TileOutput[] }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** Tiles a worker sends back at once: few messages, and memory stays bounded. */
const SEND_EVERY = 64;

// The entry of a tiling worker: the table arrives once (its arrays are shared, not copied), then jobs.
const port = parentPort;
if (port) {
  const { table, options, carry } = workerData as { table: FeatureTable; options: TilingOptions; carry?: Carry };
  port.on('message', (msg: ToWorker) => {
    let batch: TileOutput[] = [];
    try {
      cutJob(table, options, msg.job, (out) => {
        batch.push(out);
        if (batch.length >= SEND_EVERY) {
          port.postMessage({ type: 'tiles', id: msg.id, tiles: batch } satisfies FromWorker);
          batch = [];
        }
      }, carry);
      if (batch.length) port.postMessage({ type: 'tiles', id: msg.id, tiles: batch } satisfies FromWorker);
      port.postMessage({ type: 'done', id: msg.id } satisfies FromWorker);
    } catch (err) {
      port.postMessage({ type: 'failed', id: msg.id, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
    }
  });
}

import { parentPort, workerData } from 'node:worker_threads';
import { cutJob, type Carry } from './cut-job.js';
import type { FeatureTable } from './feature-table.js';
import type { ReadRequest } from '../ingest/read-geojson-thread.js';
import { releaseLendingScratch } from './lent-features.js';
import type { TileJob, TileOutput } from './tile-job.js';
import type { TilingOptions } from './tile-options.js';

/** What a worker tiles from: the table (its arrays are shared, not copied), the options, and what a republish carries over. */
export interface WorkerSetup {
  table: FeatureTable;
  options: TilingOptions;
  carry?: Carry | undefined;
}

/**
 * Messages between the pool and a tiling worker. A worker started before its layer was
 * read gets its setup first; before that, it may be asked to read the layer's records
 * (read-geojson-thread.ts, which answers with messages of its own). A worker kept for the
 * next publish is told to release its layer, and is set up again by the next.
 */
export type ToWorker =
  | { type: 'setup'; setup: WorkerSetup }
  | { type: 'job'; id: number; job: TileJob }
  | { type: 'read'; request: ReadRequest }
  | { type: 'release' };
export type FromWorker =
  | { type: 'tiles'; id: number; tiles: TileOutput[] }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** Tiles a worker sends back at once: few messages, and memory stays bounded. */
const SEND_EVERY = 64;

// The entry of a tiling worker: its setup arrives (as workerData, or as the first message
// when the worker was started ahead of the layer), then jobs; a kept worker gets a release,
// then the next publish's setup.
const port = parentPort;
if (port) {
  let setup = (workerData as WorkerSetup | null) ?? null;
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'setup') {
      setup = msg.setup;
      return;
    }
    if (msg.type === 'release') {
      // The table's shared memory and the previous version's index go with the last reference.
      setup = null;
      releaseLendingScratch();
      return;
    }
    if (msg.type === 'read') {
      // Loaded only by the thread lent for it: a tiling thread does not load the reader.
      void import('../ingest/read-geojson-thread.js').then(({ readRecordsHere }) => readRecordsHere(port, msg.request));
      return;
    }
    let batch: TileOutput[] = [];
    try {
      if (!setup) throw new Error('a job arrived before the worker was set up');
      const { table, options, carry } = setup;
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

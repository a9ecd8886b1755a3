import type { Worker } from 'node:worker_threads';
import { cutJob, type Carry } from './cut-job.js';
import type { FeatureTable } from './feature-table.js';
import { tileNumber, type TileJob, type TileOutput } from './tile-job.js';
import type { TilingOptions } from './tile-options.js';
import type { FromWorker, ToWorker, WorkerSetup } from './tile-worker.js';
import { TilingError } from './tiling-error.js';
import { startTilingWorker, TilingPool } from './tiling-pool.js';

/** Where jobs run and what happens to their tiles. */
export interface RunOptions {
  /** Worker threads; 0 cuts on this thread (between jobs it yields, so a server keeps answering). */
  workers: number;
  /** Receives finished tiles, in batches, on this thread. */
  onTiles(tiles: TileOutput[]): void;
  /** Called with each job just before it is run (it may still add to the job). */
  prepare?(job: TileJob): void;
  /** Called after each job with the job. */
  onJobDone?(job: TileJob): void;
  /** What an incremental republish takes over from the previous version. */
  carry?: Carry;
  /** Threads started ahead (while the layer was read), used before any is started here. */
  threads?: TilingThreads | undefined;
}

/**
 * Runs tiling jobs to the end: on `workers` threads sharing the feature table, each
 * taking the next job when it finishes one. Which worker cuts which job never changes
 * a tile's bytes. The first failure stops the run (workers are terminated); after a
 * run that ends well, workers from `run.threads` go back to it.
 */
export async function runJobs(table: FeatureTable, options: TilingOptions, jobs: readonly TileJob[], run: RunOptions): Promise<void> {
  if (run.workers <= 0) return runHere(table, options, jobs, run);
  const count = Math.min(run.workers, jobs.length);
  const setup: WorkerSetup = { table, options, carry: run.carry };
  const early = run.threads?.take(count, setup) ?? [];
  const slots = Array.from({ length: count }, (_, k) => early[k] ?? startTilingWorker(setup, true));
  let finished = false;
  try {
    let next = 0;
    // Each worker holds its next job while it cuts one: it starts the next as soon as it is
    // done, instead of waiting for this thread to take its tiles (a batch write of dense
    // tiles, 20-80 ms) and hand it another. Measured on a 1% republish of 200k parcels,
    // workers waited that way for 150 ms of the 1.2 s they cut.
    const runJob = async (s: number, id: number): Promise<void> => {
      const job = jobs[id] as TileJob;
      const delivered = new Set<number>();
      // Tiles a failed attempt already delivered are not delivered twice (a rerun cuts them identically).
      const onTiles = (tiles: TileOutput[]): void => {
        const fresh = tiles.filter((t) => {
          const key = tileNumber(t.z, t.x, t.y);
          if (delivered.has(key)) return false;
          delivered.add(key);
          return true;
        });
        run.onTiles(fresh);
      };
      const worker = slots[s] as Worker;
      try {
        await runOnWorker(worker, id, job, options.layerName, onTiles);
      } catch (err) {
        if (!(err instanceof OutOfMemory)) throw err;
        // The job queued behind this one failed with it: whichever of the two comes first
        // replaces the worker (before it waits), and both rerun on the new one.
        if (slots[s] === worker) {
          slots[s] = startTilingWorker(setup, false);
          await worker.terminate();
        }
        await runOnWorker(slots[s] as Worker, id, job, options.layerName, onTiles);
      }
      run.onJobDone?.(job);
    };
    await Promise.all(slots.map(async (_, s) => {
      let running: Promise<void> | null = null;
      while (next < jobs.length) {
        const id = next++;
        run.prepare?.(jobs[id] as TileJob);
        const queued = runJob(s, id);
        // Until the running job ends, a rejection of the queued one is handled below.
        queued.catch(() => undefined);
        if (running) await running;
        running = queued;
      }
      await running;
    }));
    finished = true;
  } finally {
    // Every worker is idle once all jobs are done; after a failure some may still be cutting.
    if (finished && run.threads) await run.threads.giveBack(slots);
    else await Promise.all(slots.map((w) => w.terminate()));
  }
}

async function runHere(table: FeatureTable, options: TilingOptions, jobs: readonly TileJob[], run: RunOptions): Promise<void> {
  for (const job of jobs) {
    run.prepare?.(job);
    const out: TileOutput[] = [];
    cutJob(table, options, job, (t) => out.push(t), run.carry);
    run.onTiles(out);
    run.onJobDone?.(job);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A capped worker ran out of heap. */
class OutOfMemory extends Error {}

function runOnWorker(worker: Worker, id: number, job: TileJob, layer: string, onTiles: (tiles: TileOutput[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: FromWorker): void => {
      if (msg.id !== id) return;
      if (msg.type === 'tiles') {
        try {
          onTiles(msg.tiles);
        } catch (err) {
          cleanup();
          reject(err as Error);
        }
        return;
      }
      cleanup();
      if (msg.type === 'done') resolve();
      else reject(new TilingError(layer, job.root, msg.message));
    };
    const onError = (err: Error & { code?: string }): void => {
      cleanup();
      reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new OutOfMemory(err.message) : new TilingError(layer, job.root, err.message));
    };
    const onExit = (code: number): void => { cleanup(); reject(new TilingError(layer, job.root, `worker exited with code ${code}`)); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ type: 'job', id, job } satisfies ToWorker);
  });
}

/**
 * Tiling threads for one publish, started (or taken from a pool that kept them) before
 * its layer is read, so that loading their code (0.15-0.3 s for two, on two cores)
 * overlaps the read instead of delaying the first tile. runJobs takes them, sets them up
 * with the table and gives them back when its jobs are done; `close` gives back or ends
 * any it did not take. A worker that failed or exited while it waited is not handed out.
 */
export class TilingThreads {
  private idle: Worker[];

  constructor(count: number, private readonly pool: TilingPool = new TilingPool(0)) {
    this.idle = pool.take(count);
  }

  /** Up to `n` waiting workers, set up with `setup`; they are the caller's until it gives them back. */
  take(n: number, setup: WorkerSetup): Worker[] {
    const live = this.idle.filter((w) => !this.pool.isLost(w));
    const taken = live.slice(0, n);
    this.idle = live.slice(n);
    for (const w of taken) w.postMessage({ type: 'setup', setup } satisfies ToWorker);
    return taken;
  }

  /**
   * A waiting worker lent for other work before it is taken (reading the layer's records),
   * or undefined for none. It stays in the waiting list: the lender must be done with it
   * before runJobs takes it (its messages queue behind the work).
   */
  lend(): Worker | undefined {
    return this.idle.find((w) => !this.pool.isLost(w));
  }

  /** Workers still waiting to be taken. */
  get waiting(): number {
    return this.idle.filter((w) => !this.pool.isLost(w)).length;
  }

  /** Takes back taken workers whose jobs are all done, for the pool (which keeps or ends them). */
  giveBack(workers: readonly Worker[]): Promise<void> {
    return this.pool.giveBack(workers);
  }

  /**
   * Gives back the workers not taken when none can still be working for the publish
   * (`idle`: the read a worker was lent for is over); otherwise ends them.
   */
  async close(idle: boolean): Promise<void> {
    const rest = this.idle;
    this.idle = [];
    if (idle) await this.pool.giveBack(rest);
    else await Promise.all(rest.map((w) => w.terminate()));
  }
}

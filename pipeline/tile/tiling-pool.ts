import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ToWorker, WorkerSetup } from './tile-worker.js';

/**
 * Heap of a worker's old generation, MB. Jobs are sized to need far less; the cap makes
 * V8 collect early instead of letting garbage grow, which keeps the process small. A job
 * that does outgrow it is run again on a worker without the cap.
 */
const WORKER_HEAP_MB = 512;
/** Young generation of a worker, MB: tiling allocates many short-lived arrays. */
const WORKER_YOUNG_MB = 64;

/** How long a long-lived publishing thread keeps its tiling threads after a publish, ms. */
export const KEEP_TILING_THREADS_MS = 15 * 60_000;

/** A tiling worker, given its setup now or (null) in a message later. */
export function startTilingWorker(setup: WorkerSetup | null, capped: boolean): Worker {
  const compiled = new URL('./tile-worker.js', import.meta.url);
  const useCompiled = !import.meta.url.endsWith('.ts') && existsSync(fileURLToPath(compiled));
  // Run from TypeScript sources (tests), the worker starts through a loader shim: on Node 20 a
  // worker's execArgv --import does not reach its own entry module.
  return new Worker(useCompiled ? compiled : new URL('./tile-worker-dev.mjs', import.meta.url), {
    workerData: setup,
    resourceLimits: capped ? { maxYoungGenerationSizeMb: WORKER_YOUNG_MB, maxOldGenerationSizeMb: WORKER_HEAP_MB } : { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
  });
}

/**
 * Where a publish gets its tiling threads, and where they go after it. A thread that
 * publishes once (the CLI) ends them (`keepMs` 0). A long-lived publishing thread (the
 * server's) keeps them for the next publish, `keepMs` after the last: V8 compiles the
 * tiling code for each thread as it runs hot, and a small republish in fresh threads
 * spends up to a third of its time on that (1% of 200k parcels, the same republish again:
 * 2.3-2.5 s in new threads, 1.5-1.9 s in kept ones; right after a full publish, whose
 * threads never ran the republish's own code: 2.6 s against 2.2 s). Kept threads hold nothing of their last layer: they are told
 * to let go of it, and only threads that were set up by message (never by workerData,
 * which a thread cannot drop) and finished their work are kept. Which thread cuts a tile
 * never changes its bytes.
 */
export class TilingPool {
  private kept: Worker[] = [];
  /** Threads this pool started: only those may be kept. */
  private readonly own = new WeakSet<Worker>();
  private readonly lost = new WeakSet<Worker>();
  private timer: NodeJS.Timeout | null = null;
  private startedCount = 0;

  constructor(private readonly keepMs: number) {}

  /** `count` threads waiting for their setup: kept ones first, then new ones. The caller gives them back or ends them. */
  take(count: number): Worker[] {
    this.disarm();
    const live = this.kept.filter((w) => !this.lost.has(w));
    const taken = live.slice(0, count);
    this.kept = live.slice(count);
    while (taken.length < Math.max(0, count)) taken.push(this.start());
    if (this.kept.length) this.arm();
    return taken;
  }

  /** True when the thread failed or exited since the pool started it. */
  isLost(worker: Worker): boolean {
    return this.lost.has(worker);
  }

  /**
   * Takes back threads whose work is over (none may be cutting or reading): this pool's
   * own live threads are kept for `keepMs` when it keeps any, every other one is ended.
   */
  async giveBack(workers: readonly Worker[]): Promise<void> {
    const ended: Worker[] = [];
    for (const w of workers) {
      if (this.keepMs > 0 && this.own.has(w) && !this.lost.has(w) && !this.kept.includes(w)) {
        w.postMessage({ type: 'release' } satisfies ToWorker);
        this.kept.push(w);
      } else if (!this.kept.includes(w)) ended.push(w);
    }
    if (this.kept.length) this.arm();
    await Promise.all(ended.map((w) => w.terminate()));
  }

  /** Threads kept for the next publish. */
  get size(): number {
    return this.kept.filter((w) => !this.lost.has(w)).length;
  }

  /** Threads this pool has started so far. */
  get started(): number {
    return this.startedCount;
  }

  /** Ends the kept threads. */
  async close(): Promise<void> {
    this.disarm();
    const rest = this.kept;
    this.kept = [];
    await Promise.all(rest.map((w) => w.terminate()));
  }

  private start(): Worker {
    const w = startTilingWorker(null, true);
    this.own.add(w);
    this.startedCount++;
    // Until a job listens, a failure is only noted (an unheard 'error' would end the process).
    w.on('error', () => this.lost.add(w));
    w.on('exit', () => this.lost.add(w));
    return w;
  }

  /** Ends the kept threads once `keepMs` pass without a publish taking them. */
  private arm(): void {
    this.disarm();
    this.timer = setTimeout(() => void this.close(), this.keepMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SourceRead } from '../../src/store/sqlite-sources.js';
import type { PublishProgress, PublishResult } from '../publish/publish-layer.js';
import { DEFAULT_PUBLISH_NICE } from './thread-priority.js';
import type { FromWorker, JobFailure, JobTask, ToWorker, WorkerSetup } from './worker-protocol.js';

/** How a job handed to a worker ended. */
export type WorkerOutcome =
  | { kind: 'done'; result: PublishResult }
  | { kind: 'failed'; failure: JobFailure }
  /** The thread died (out of memory, a native crash): the job's outcome is unknown to the worker. */
  | { kind: 'crashed'; message: string };

/** What a running job reports before its outcome. */
export interface JobListener {
  progress(p: PublishProgress): void;
  source(read: SourceRead): void;
}

interface Slot {
  worker: Worker;
  alive: boolean;
  job: { task: JobTask; listener: JobListener; settle: (o: WorkerOutcome) => void } | null;
}

/** How publish threads run. */
export interface WorkerPoolOptions {
  /** Nice level of publish threads and the tiling threads they spawn (Linux); default 19. 0 leaves them as the server. */
  nice?: number;
  /** Tiling threads per job; default: the cores beyond one for serving and one for the publish thread. */
  tilingThreads?: number;
}

/**
 * A fixed set of long-lived publish threads. Each lowers its CPU priority and opens
 * the store once when it starts; a dead thread is replaced only when no job runs,
 * because opening the store drops unfinished builds and must not touch one that
 * another thread is writing.
 */
export class WorkerPool {
  private slots: Slot[] = [];
  private readonly setup: WorkerSetup;

  constructor(private readonly size: number, dataDir: string, private readonly logger: Logger, options: WorkerPoolOptions = {}) {
    this.setup = { dataDir, nice: options.nice ?? DEFAULT_PUBLISH_NICE, tilingThreads: options.tilingThreads };
  }

  /** Starts the threads; resolves when each has opened the store. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
  }

  /** True when a live thread is free. */
  hasIdle(): boolean {
    this.replaceDeadWhenIdle();
    return this.slots.some((s) => s.alive && !s.job);
  }

  /** Runs a task on a free thread; the caller checks hasIdle() first. */
  run(task: JobTask, listener: JobListener): Promise<WorkerOutcome> {
    const slot = this.slots.find((s) => s.alive && !s.job);
    if (!slot) return Promise.resolve({ kind: 'crashed', message: 'no publish worker is available' });
    return new Promise((settle) => {
      slot.job = { task, listener, settle };
      slot.worker.postMessage({ type: 'run', task } satisfies ToWorker);
    });
  }

  /** Asks every running job to stop at its next batch (its build is dropped). */
  cancelAll(): void {
    for (const s of this.slots) if (s.job && s.alive) s.worker.postMessage({ type: 'cancel', jobId: s.job.task.jobId } satisfies ToWorker);
  }

  /** Cancels running jobs, waits up to `graceMs` for them to stop, then ends the threads. */
  async stop(graceMs: number): Promise<void> {
    this.cancelAll();
    const deadline = Date.now() + graceMs;
    while (this.slots.some((s) => s.job && s.alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map(async (s) => {
      s.alive = false;
      await s.worker.terminate();
      s.job?.settle({ kind: 'crashed', message: 'the server stopped' });
      s.job = null;
    }));
  }

  private spawn(): Promise<void> {
    const worker = createWorker(this.setup);
    // A publish thread never keeps the process alive on its own (the server or the command does).
    worker.unref();
    const slot: Slot = { worker, alive: true, job: null };
    this.slots.push(slot);
    return new Promise((ready, fail) => {
      let started = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          started = true;
          if (msg.priority.kind === 'failed') this.logger.warn({ nice: this.setup.nice, reason: msg.priority.message }, 'publish thread runs at the server\'s priority');
          ready();
        } else this.onMessage(slot, msg);
      });
      const die = (message: string): void => {
        if (!slot.alive) return;
        slot.alive = false;
        this.logger.error({ message }, 'publish worker stopped');
        const job = slot.job;
        slot.job = null;
        job?.settle({ kind: 'crashed', message: `the publish worker stopped: ${message}` });
        if (!started) fail(new Error(`publish worker failed to start: ${message}`));
      };
      worker.on('error', (err) => die(err.message));
      worker.on('exit', (code) => die(`exit code ${code}`));
    });
  }

  private onMessage(slot: Slot, msg: Exclude<FromWorker, { type: 'ready' }>): void {
    const job = slot.job;
    if (!job || job.task.jobId !== msg.jobId) return;
    if (msg.type === 'progress') {
      job.listener.progress(msg.progress);
      return;
    }
    if (msg.type === 'source') {
      job.listener.source(msg.read);
      return;
    }
    slot.job = null;
    job.settle(msg.type === 'done' ? { kind: 'done', result: msg.result } : { kind: 'failed', failure: msg.failure });
  }

  private replaceDeadWhenIdle(): void {
    if (this.slots.every((s) => s.alive) || this.slots.some((s) => s.job)) return;
    const dead = this.slots.filter((s) => !s.alive).length;
    this.slots = this.slots.filter((s) => s.alive);
    for (let i = 0; i < dead; i++) {
      this.spawn().catch((err: unknown) => this.logger.error({ err }, 'could not restart a publish worker'));
    }
  }
}

/**
 * Compiled, the worker is plain JS beside this file. From TypeScript sources (tests,
 * tsx) the thread registers tsx's loader before importing the .ts entry.
 */
function createWorker(setup: WorkerSetup): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./publish-worker.js', here), { workerData: setup });
  const require = createRequire(here);
  const tsxApi = pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./publish-worker.ts', here).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: setup });
}

import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/load-config.js';
import type { Job } from '../../src/jobs/jobs.js';
import { INTERRUPTED, type SqliteJobs } from '../../src/store/sqlite-jobs.js';
import type { SourceRead, SqliteSources } from '../../src/store/sqlite-sources.js';
import type { PublishProgress } from '../publish/publish-layer.js';
import { uploadFileName } from './receive-upload.js';
import type { WorkerOutcome, WorkerPool } from './worker-pool.js';
import type { JobFailure, JobTask } from './worker-protocol.js';

/** How often a job is started at most: a transient error is retried until this many attempts. */
export const MAX_ATTEMPTS = 3;

/** What the runner tells its owner. */
export interface RunnerEvents {
  /** The job's row changed (started, requeued, finished). */
  changed(jobId: number): void;
  progress(jobId: number, p: PublishProgress): void;
  /** A job finished (any outcome); `published` when it may have made a new current version. */
  finished(job: Job, published: boolean): void;
}

/** What the runner works with. */
export interface RunnerDeps {
  config: Config;
  jobs: SqliteJobs;
  sources: SqliteSources;
  pool: WorkerPool;
  /** This process's id in the jobs table. */
  runnerId: string;
  logger: Logger;
  events: RunnerEvents;
}

/**
 * Takes queued jobs — the oldest first, one per layer, at most `schedule.concurrency`
 * at once — hands each to a publish thread and records how it ended. Only named
 * transient errors are retried, a bounded number of times.
 */
export class JobRunner {
  private readonly running = new Set<number>();
  /** What each running job read, once it said. */
  private readonly reading = new Map<number, SourceRead>();
  private stopped = false;

  constructor(private readonly deps: RunnerDeps) {}

  /** Starts as many queued jobs as the limits allow. */
  kick(): void {
    if (this.stopped) return;
    try {
      while (this.running.size < this.deps.config.schedule.concurrency && this.deps.pool.hasIdle()) {
        const job = this.deps.jobs.claimNext(this.deps.runnerId);
        if (!job) break;
        this.dispatch(job);
      }
    } catch (err) {
      // The store was busy (another process writing): try again shortly.
      this.deps.logger.warn({ err }, 'could not claim a job; retrying');
      setTimeout(() => this.kick(), 500).unref();
    }
  }

  /** Stops taking jobs; running ones are cancelled by the pool. */
  stop(): void {
    this.stopped = true;
  }

  /** The source a running job reads; undefined until it has taken its stats. */
  sourceReadBy(jobId: number): SourceRead | undefined {
    return this.reading.get(jobId);
  }

  /** Ids of the jobs this process is running. */
  get active(): ReadonlySet<number> {
    return this.running;
  }

  private dispatch(job: Job): void {
    this.running.add(job.id);
    this.deps.events.changed(job.id);
    this.deps.logger.info({ job: job.id, layer: job.layer, kind: job.kind, attempt: job.attempts }, 'job started');
    let task: JobTask;
    try {
      task = this.taskFor(job);
    } catch (err) {
      void this.settle(job, { kind: 'failed', failure: plainFailure((err as Error).message) });
      return;
    }
    const listener = {
      progress: (p: PublishProgress) => this.deps.events.progress(job.id, p),
      source: (read: SourceRead) => this.reading.set(job.id, read),
    };
    void this.deps.pool.run(task, listener).then((outcome) => this.settle(job, outcome));
  }

  private taskFor(job: Job): JobTask {
    const { config, sources } = this.deps;
    const layer = config.layers.find((l) => l.id === job.layer);
    if (!layer) throw new Error(`layer "${job.layer}" is no longer in ${path.basename(config.file)}`);
    const base = { jobId: job.id, kind: job.kind, dataDir: config.storage.dir, keepVersions: config.storage.keepVersions,
      defaultAttribution: config.node.attribution ?? config.node.title, maxUploadBytes: config.admin.maxUploadBytes };
    if (job.kind === 'upload') {
      const rev = job.revision === null ? null : sources.get(job.revision);
      if (!rev || rev.state === 'rejected') throw new Error(`source revision ${job.revision ?? '?'} of "${job.layer}" is not available`);
      const file = uploadFileName(job.layer, rev.id, rev.kind);
      const dir = path.join(config.storage.dir, rev.dir);
      return { ...base, layer, revision: { id: rev.id, kind: rev.kind, dir, file: path.join(dir, file), label: uploadLabel(rev.id, rev.name), stored: file } };
    }
    const source = sources.publishSource(job.layer, layer.source, config.storage.dir).file;
    return { ...base, layer: { ...layer, source }, revision: null };
  }

  private async settle(job: Job, outcome: WorkerOutcome): Promise<void> {
    try {
      const published = await this.record(job, outcome);
      this.running.delete(job.id);
      this.reading.delete(job.id);
      const after = this.deps.jobs.get(job.id);
      this.deps.events.changed(job.id);
      if (after && after.state !== 'queued') this.deps.events.finished(after, published);
      this.kick();
    } catch (err) {
      // Writing the outcome failed (the store was busy for long): try again; the job stays running meanwhile.
      this.deps.logger.warn({ err, job: job.id }, 'could not record a job outcome; retrying');
      setTimeout(() => void this.settle(job, outcome), 500).unref();
    }
  }

  /** Writes the outcome; returns true when a version may have been committed. */
  private async record(job: Job, outcome: WorkerOutcome): Promise<boolean> {
    const { jobs, logger } = this.deps;
    if (outcome.kind === 'done') {
      // The job's state as the API and the docs name it (a publish that made a version "succeeded").
      const state = outcome.result.state === 'published' ? 'succeeded' : outcome.result.state;
      logger.info({ job: job.id, layer: job.layer, state, version: outcome.result.version }, 'job finished');
      return true;
    }
    const failure = outcome.kind === 'failed' ? outcome.failure : plainFailure(outcome.message);
    if (failure.transient && job.attempts < MAX_ATTEMPTS && !this.stopped) {
      logger.warn({ job: job.id, layer: job.layer, code: failure.code, attempt: job.attempts }, 'transient error; the job is queued again');
      jobs.requeue(job.id, `retrying after ${failure.code ?? 'a transient error'} (attempt ${job.attempts} of ${MAX_ATTEMPTS})`);
      return false;
    }
    const message = failure.cancelled || (outcome.kind === 'crashed' && this.stopped) ? INTERRUPTED : failure.message;
    jobs.finish(job.id, { state: 'failed', error: message });
    logger.warn({ job: job.id, layer: job.layer, error: message }, 'job failed');
    if (!failure.cancelled && failure.fingerprint) this.deps.sources.recordFailed(job.layer, failure.fingerprint.source, failure.fingerprint.hash);
    if (job.kind === 'upload' && job.revision !== null) await this.rejectRevision(job.revision, message);
    return outcome.kind === 'crashed';
  }

  /** A failed upload changes nothing else: its revision is marked rejected and its files removed. */
  private async rejectRevision(id: number, message: string): Promise<void> {
    const rev = this.deps.sources.get(id);
    if (!rev) return;
    this.deps.sources.reject(id, message);
    await rm(path.join(this.deps.config.storage.dir, rev.dir), { recursive: true, force: true });
  }
}

function plainFailure(message: string): JobFailure {
  return { message, code: null, transient: false, cancelled: false, fingerprint: null };
}

/** How an upload is named in a failed job's message: as the client named it, with its revision. */
export function uploadLabel(revision: number, name: string | null): string {
  return name ? `upload ${JSON.stringify(name)} (r${revision})` : `upload r${revision}`;
}

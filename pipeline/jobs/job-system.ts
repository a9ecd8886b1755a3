import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/load-config.js';
import {
  JobsError, type EnqueueResult, type Job, type JobFilter, type Jobs, type SourceRevision, type UploadRequest,
} from '../../src/jobs/jobs.js';
import type { SqliteAudit } from '../../src/store/sqlite-audit.js';
import { INTERRUPTED, SqliteJobs } from '../../src/store/sqlite-jobs.js';
import { SqliteSources, type SourceFingerprint } from '../../src/store/sqlite-sources.js';
import type { PublishProgress } from '../publish/publish-layer.js';
import { sameStats, statSourceSync } from './fingerprint-source.js';
import { JobRunner } from './job-runner.js';
import { receiveUpload, uploadFileName } from './receive-upload.js';
import { scanSources, type ChangedSource } from './scan-sources.js';
import { startScheduler, type Scheduler } from './scheduler.js';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

/** What the job system is built from. */
export interface JobSystemDeps {
  config: Config;
  /** The store's connection (main thread); workers open their own. */
  db: Database.Database;
  audit: SqliteAudit;
  logger: Logger;
  /** Called when a job may have changed a current version (the change feed polls). */
  onPublished?: () => void;
  /** How the publish threads run: their nice level (default 19, below serving) and tiling threads. */
  threads?: WorkerPoolOptions;
}

/** How long a stop waits for running jobs to drop their builds. */
const STOP_GRACE_MS = 10_000;

/**
 * The job system behind the admin API and the scheduler: a persisted queue, publish
 * threads, live progress. Inert until start() (commands other than serve never start it).
 */
export class JobSystem implements Jobs {
  private readonly table: SqliteJobs;
  private readonly sources: SqliteSources;
  private readonly emitter = new EventEmitter();
  private readonly live = new Map<number, PublishProgress>();
  private pool: WorkerPool | null = null;
  private runner: JobRunner | null = null;
  private scheduler: Scheduler | null = null;
  /** This process's mark on the jobs it runs. */
  readonly runnerId = randomUUID();

  constructor(private readonly deps: JobSystemDeps) {
    this.table = new SqliteJobs(deps.db);
    this.sources = new SqliteSources(deps.db);
    this.emitter.setMaxListeners(0);
  }

  enqueuePublish(layer: string, requestedBy: string): EnqueueResult {
    this.assertPublishable(layer);
    const result = this.table.enqueuePublish(layer, requestedBy, (running) => this.stillReading(running));
    if (!result.joined) this.emitJob(result.job.id);
    this.runner?.kick();
    return { job: this.withLive(result.job), joined: result.joined };
  }

  async enqueueUpload(layer: string, upload: UploadRequest): Promise<Job> {
    this.assertPublishable(layer);
    const { config } = this.deps;
    const rev = this.sources.createRevision(layer, upload.kind, upload.name, upload.requestedBy);
    const dir = path.join(config.storage.dir, rev.dir);
    const file = uploadFileName(layer, rev.id, upload.kind);
    try {
      await mkdir(dir, { recursive: true });
      const received = await receiveUpload(upload.body, path.join(dir, file), config.admin.maxUploadBytes, layer);
      const job = this.deps.db.transaction((): Job => {
        this.sources.markReceived(rev.id, received.bytes, received.sha256, upload.kind === 'geojson' ? path.join(rev.dir, file) : null);
        return this.table.enqueueUpload(layer, rev.id, upload.requestedBy);
      }).immediate();
      this.emitJob(job.id);
      this.runner?.kick();
      return job;
    } catch (err) {
      this.sources.reject(rev.id, (err as Error).message);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get(id: number): Job | null {
    const job = this.table.get(id);
    return job ? this.withLive(job) : null;
  }

  list(filter?: JobFilter): Job[] {
    return this.table.list(filter).map((j) => this.withLive(j));
  }

  revisions(layer: string): SourceRevision[] {
    return this.sources.list(layer).map(({ dir: _dir, source: _source, ...rev }) => rev);
  }

  subscribe(listener: (job: Job) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  /** Recovers from a crash, starts the publish threads and the runner, and the scan schedule if configured. */
  async start(): Promise<void> {
    const { config, logger } = this.deps;
    await this.recover();
    if (!config.schedule.runJobs) {
      logger.info('this process runs no publish jobs (schedule.runJobs: false): no publish threads, no scan');
      return;
    }
    const threads = this.deps.threads ?? { nice: config.schedule.nice, tilingThreads: config.schedule.tilingThreads };
    this.pool = new WorkerPool(config.schedule.concurrency, config.storage.dir, logger, threads);
    await this.pool.start();
    this.runner = new JobRunner({
      config, jobs: this.table, sources: this.sources, pool: this.pool, runnerId: this.runnerId, logger,
      events: {
        changed: (id) => this.emitJob(id),
        progress: (id, p) => this.onProgress(id, p),
        finished: (job, published) => {
          this.live.delete(job.id);
          if (published) this.deps.onPublished?.();
        },
      },
    });
    this.runner.kick();
    if (config.schedule.scan) this.scheduler = startScheduler(config.schedule.scan, () => this.scan(), logger);
  }

  /** The file a publish of `layer` reads (its active upload, else the configured source), and the upload's revision. */
  publishSource(layer: { id: string; source: string }): { file: string; revision: number | null } {
    return this.sources.publishSource(layer.id, layer.source, this.deps.config.storage.dir);
  }

  /** Remembers the source a publish outside the job system (the CLI's) read, so a scan does not publish it again. */
  recordPublishedSource(layer: string, fp: SourceFingerprint): void {
    this.sources.recordPublished(layer, fp);
  }

  /** Looks for changed sources and queues their publish; returns what was queued. */
  async scan(): Promise<ChangedSource[]> {
    const changed = await scanSources({
      config: this.deps.config, sources: this.sources, logger: this.deps.logger,
      hasActiveJob: (layer) => this.table.hasActive(layer),
    });
    for (const c of changed) {
      const { job, joined } = this.enqueuePublish(c.layer, 'scheduler');
      this.deps.logger.info({ layer: c.layer, reason: c.reason, job: job.id }, 'source changed; publish queued');
      this.deps.audit.tryRecord({ actor: 'scheduler', action: 'publish', layer: c.layer, status: 0, result: `${joined ? 'joined' : 'queued'} job ${job.id} (${c.reason})`, detail: { job: job.id }, remote: null });
    }
    return changed;
  }

  /** Stops the schedule and the runner; running jobs are cancelled (their builds dropped) and marked interrupted. */
  async stop(): Promise<void> {
    this.scheduler?.stop();
    this.scheduler = null;
    this.runner?.stop();
    await this.pool?.stop(STOP_GRACE_MS);
    const deadline = Date.now() + 2000;
    while ((this.runner?.active.size ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.pool = null;
    this.runner = null;
  }

  /** Synchronous last resort when the process closes without stop(): ends the threads. */
  close(): void {
    this.scheduler?.stop();
    this.runner?.stop();
    void this.pool?.stop(0);
  }

  /**
   * A job left running by a dead process failed as interrupted; an upload a dead process
   * was receiving is discarded. Those of live processes (a writer beside this reader) stay.
   */
  private async recover(): Promise<void> {
    const { config, logger } = this.deps;
    for (const job of this.table.failInterrupted()) {
      logger.warn({ job: job.id, layer: job.layer }, 'job was interrupted by a restart; marked failed');
      if (job.kind === 'upload' && job.revision !== null) await this.discardRevision(job.revision, INTERRUPTED, config.storage.dir);
    }
    for (const rev of this.sources.unfinished()) await this.discardRevision(rev.id, 'interrupted while receiving', config.storage.dir);
  }

  private async discardRevision(id: number, reason: string, dataDir: string): Promise<void> {
    const rev = this.sources.get(id);
    if (!rev || rev.state === 'active' || rev.state === 'superseded') return;
    this.sources.reject(id, reason);
    await rm(path.join(dataDir, rev.dir), { recursive: true, force: true });
  }

  /** Live progress, in memory only: the publish thread saves each stage itself (a write here could wait for its transactions). */
  private onProgress(id: number, p: PublishProgress): void {
    this.live.set(id, p);
    this.emitJob(id);
  }

  /**
   * True when a running job publishes what a new request would: it has not read its
   * source yet, or the source still has the sizes and mtimes it had when the job read it.
   */
  private stillReading(job: Job): boolean {
    const read = this.runner?.sourceReadBy(job.id);
    if (!read) return true;
    const layer = this.deps.config.layers.find((l) => l.id === job.layer);
    const active = this.sources.active(job.layer);
    const source = active?.source ? path.join(this.deps.config.storage.dir, active.source) : layer?.source;
    if (source !== read.source) return false;
    const now = statSourceSync(source);
    return now !== null && sameStats(now, read.files);
  }

  private emitJob(id: number): void {
    const job = this.get(id);
    if (job) this.emitter.emit('job', job);
  }

  private withLive(job: Job): Job {
    const p = job.state === 'running' ? this.live.get(job.id) : undefined;
    return p ? { ...job, progress: round3(p.progress), stage: p.stage, detail: p.detail } : job;
  }

  assertPublishable(layer: string): void {
    if (!this.deps.config.layers.some((l) => l.id === layer)) {
      // A layer this node mirrors is not configured here: say whose it is, as a rollback of it does.
      const row = this.deps.db.prepare('SELECT origin FROM layers WHERE id = ?').get(layer) as { origin: string | null } | undefined;
      if (row?.origin) {
        throw new JobsError('mirrored', `layer "${layer}" is mirrored from node "${row.origin}" and is read-only here; publish it on "${row.origin}"`, layer);
      }
      throw new JobsError('unknown-layer', `layer "${layer}" is not configured on this node`, layer);
    }
    if (!this.deps.config.schedule.runJobs) {
      throw new JobsError('not-running', 'this process runs no publish jobs (schedule.runJobs: false): send admin requests to the writer', layer);
    }
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

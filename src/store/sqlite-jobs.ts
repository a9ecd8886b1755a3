import type Database from 'better-sqlite3';
import type { EnqueueResult, Job, JobFilter, JobKind, JobState } from '../jobs/jobs.js';
import { isProcessAlive } from './process-alive.js';

interface JobRow {
  id: number; layer: string; kind: JobKind; state: JobState; progress: number;
  stage: string | null; detail: string | null; version: string | null; error: string | null;
  revision: number | null; requested_by: string; attempts: number; runner: string | null;
  created_at: string; started_at: string | null; finished_at: string | null;
}

/** How a job ended. */
export interface JobOutcome {
  state: Extract<JobState, 'succeeded' | 'unchanged' | 'failed'>;
  version?: string | null;
  error?: string | null;
  detail?: string | null;
}

/** What a restart found: jobs that were running when the process died, now failed. */
export interface RecoveredJob {
  id: number;
  layer: string;
  kind: JobKind;
  revision: number | null;
}

/** Why a job that a process was running stopped without an outcome. */
export const INTERRUPTED = 'interrupted: the server stopped while the job was running; nothing was published';

/**
 * The persisted job queue. Every state change is one IMMEDIATE transaction, so two
 * requests (or two processes) never both create a queued job for a layer or both run it.
 */
export class SqliteJobs {
  constructor(private readonly db: Database.Database, private readonly now: () => Date = () => new Date()) {}

  /**
   * Queues a publish of `layer`, or returns the job it joins: the one already queued,
   * else the running one when `joinRunning` says it will publish what a new job would.
   */
  enqueuePublish(layer: string, requestedBy: string, joinRunning: (job: Job) => boolean = () => false): EnqueueResult {
    return this.db.transaction((): EnqueueResult => {
      const queued = this.db.prepare("SELECT * FROM jobs WHERE layer = ? AND state = 'queued' ORDER BY id LIMIT 1").get(layer) as JobRow | undefined;
      if (queued) return { job: toJob(queued), joined: true };
      const running = this.db.prepare("SELECT * FROM jobs WHERE layer = ? AND state = 'running' ORDER BY id LIMIT 1").get(layer) as JobRow | undefined;
      if (running && joinRunning(toJob(running))) return { job: toJob(running), joined: true };
      return { job: this.insert(layer, 'publish', null, requestedBy), joined: false };
    }).immediate();
  }

  /** Queues the publish of an uploaded revision; uploads never join (each is its own source). */
  enqueueUpload(layer: string, revision: number, requestedBy: string): Job {
    return this.db.transaction(() => this.insert(layer, 'upload', revision, requestedBy)).immediate();
  }

  get(id: number): Job | null {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  /** Jobs newest first, filtered by layer. */
  list(filter: JobFilter = {}): Job[] {
    const limit = filter.limit ?? 100;
    const out: Job[] = [];
    for (const row of this.db.prepare('SELECT * FROM jobs ORDER BY id DESC').iterate() as IterableIterator<JobRow>) {
      if (filter.layer && !filter.layer(row.layer)) continue;
      out.push(toJob(row));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** True when the layer has a queued or running job. */
  hasActive(layer: string): boolean {
    return this.db.prepare("SELECT 1 FROM jobs WHERE layer = ? AND state IN ('queued', 'running') LIMIT 1").get(layer) !== undefined;
  }

  /**
   * Moves the oldest queued job of a layer with no running job to running, for `runner`;
   * null when there is none.
   */
  claimNext(runner: string): Job | null {
    return this.db.transaction((): Job | null => {
      const row = this.db.prepare(
        "SELECT id FROM jobs j WHERE state = 'queued' AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.layer = j.layer AND r.state = 'running') ORDER BY id LIMIT 1",
      ).get() as { id: number } | undefined;
      if (!row) return null;
      this.db.prepare(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, runner = ?, runner_pid = ?, started_at = ?, progress = 0, stage = NULL, detail = NULL, error = NULL WHERE id = ?",
      ).run(runner, process.pid, this.stamp(), row.id);
      return this.get(row.id);
    }).immediate();
  }

  /** Records how a running job ended; the caller may already hold a transaction (the publish commit). */
  finish(id: number, outcome: JobOutcome): void {
    const run = (): void => {
      this.db.prepare(
        "UPDATE jobs SET state = ?, version = ?, error = ?, detail = coalesce(?, detail), progress = CASE WHEN ? = 'failed' THEN progress ELSE 1 END, " +
          "stage = CASE WHEN ? = 'failed' THEN stage ELSE 'done' END, finished_at = ? WHERE id = ? AND state = 'running'",
      ).run(outcome.state, outcome.version ?? null, outcome.error ?? null, outcome.detail ?? null, outcome.state, outcome.state, this.stamp(), id);
    };
    if (this.db.inTransaction) run();
    else this.db.transaction(run).immediate();
  }

  /** Puts a running job back in the queue after a transient error. */
  requeue(id: number, note: string): void {
    this.db.prepare("UPDATE jobs SET state = 'queued', progress = 0, stage = NULL, detail = ?, runner = NULL WHERE id = ? AND state = 'running'").run(note, id);
  }

  /** Persists the last progress seen (the live value is kept in memory). */
  saveProgress(id: number, progress: number, stage: string, detail: string): void {
    this.db.prepare("UPDATE jobs SET progress = ?, stage = ?, detail = ? WHERE id = ? AND state = 'running'").run(progress, stage, detail, id);
  }

  /**
   * After a crash or kill: every job still marked running by a process that is gone failed
   * as interrupted. Jobs another live process runs (a writer beside this reader) are left alone.
   */
  failInterrupted(): RecoveredJob[] {
    return this.db.transaction((): RecoveredJob[] => {
      const running = this.db.prepare("SELECT id, layer, kind, revision, runner_pid FROM jobs WHERE state = 'running'").all() as (RecoveredJob & { runner_pid: number | null })[];
      const dead = running.filter((r) => !isLiveNeighbour(r.runner_pid));
      const fail = this.db.prepare("UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE id = ? AND state = 'running'");
      for (const r of dead) fail.run(INTERRUPTED, this.stamp(), r.id);
      return dead.map(({ runner_pid: _pid, ...job }) => job);
    }).immediate();
  }

  private insert(layer: string, kind: JobKind, revision: number | null, requestedBy: string): Job {
    const info = this.db
      .prepare("INSERT INTO jobs (layer, kind, state, revision, requested_by, created_at) VALUES (?, ?, 'queued', ?, ?, ?)")
      .run(layer, kind, revision, requestedBy, this.stamp());
    return this.get(Number(info.lastInsertRowid)) as Job;
  }

  private stamp(): string {
    return this.now().toISOString();
  }
}

function toJob(r: JobRow): Job {
  return {
    id: r.id, layer: r.layer, kind: r.kind, state: r.state, progress: r.progress, stage: r.stage, detail: r.detail,
    version: r.version, error: r.error, revision: r.revision, requestedBy: r.requested_by, attempts: r.attempts,
    createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at,
  };
}

/**
 * True when `pid` is another process that is still running: one that may be running the
 * job or receiving the upload it marked. This process has just started, so its own pid on
 * a row is a dead process's that the system gave out again.
 */
export function isLiveNeighbour(pid: number | null): boolean {
  return pid !== null && pid !== process.pid && isProcessAlive(pid);
}

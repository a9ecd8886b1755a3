import { parentPort, workerData } from 'node:worker_threads';
import { SqliteJobs } from '../../src/store/sqlite-jobs.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { PublishProgress } from '../publish/publish-layer.js';
import { KEEP_TILING_THREADS_MS, TilingPool } from '../tile/tiling-pool.js';
import { describeFailure, isTransient, runJob } from './run-job.js';
import { lowerThreadPriority } from './thread-priority.js';
import type { FromWorker, JobTask, ToWorker, WorkerSetup } from './worker-protocol.js';

/**
 * A publish worker thread: it opens its own connection to the store once, then runs
 * the jobs the pool hands it one at a time, so tiling never blocks the server's
 * event loop. A kill of the process ends the thread with it (no orphan can commit later).
 */
const port = parentPort;
if (!port) throw new Error('publish-worker must run in a worker thread');
const { dataDir, nice, tilingThreads } = workerData as WorkerSetup;
// First, before this thread starts any other: serving on the main thread gets the CPU before publishing does.
const priority = lowerThreadPriority(nice);
const store = openSqliteStore(dataDir);
const jobs = new SqliteJobs(store.db);
const cancelled = new Set<number>();
// Tiling threads stay from one job to the next (for a while), so a republish finds them warm.
const tilingPool = new TilingPool(KEEP_TILING_THREADS_MS);
/** Progress is sent at most this often (and at every stage change). */
const PROGRESS_INTERVAL_MS = 100;

const send = (msg: FromWorker): void => port.postMessage(msg);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') cancelled.add(msg.jobId);
  else void handle(msg.task);
});
send({ type: 'ready', priority });

/**
 * Records a job's new stage in the store, from this thread: it is the one writing, so
 * the write never waits for its own transactions, while the main thread — which would
 * wait for them, blocking every request — only relays progress from memory. Another
 * process holding the store past the busy timeout fails the job as transient (SQLITE_BUSY),
 * as its next write would; any other error only costs the saved stage.
 */
function saveStage(jobId: number, p: PublishProgress): void {
  try {
    jobs.saveProgress(jobId, p.progress, p.stage, p.detail);
  } catch (err) {
    if (isTransient(typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : null)) throw err;
  }
}

async function handle(task: JobTask): Promise<void> {
  let lastSent = 0;
  let lastStage = '';
  const report = (progress: PublishProgress): void => {
    const now = Date.now();
    const newStage = progress.stage !== lastStage;
    if (!newStage && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastSent = now;
    lastStage = progress.stage;
    if (newStage) saveStage(task.jobId, progress);
    send({ type: 'progress', jobId: task.jobId, progress });
  };
  try {
    const result = await runJob(task, {
      store, report, tilingThreads, tilingPool,
      readingSource: (read) => send({ type: 'source', jobId: task.jobId, read }),
      cancelled: () => cancelled.has(task.jobId),
    });
    send({ type: 'done', jobId: task.jobId, result });
  } catch (err) {
    send({ type: 'failed', jobId: task.jobId, failure: describeFailure(err, task.revision) });
  } finally {
    cancelled.delete(task.jobId);
  }
}

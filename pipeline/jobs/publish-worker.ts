import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { PublishProgress } from '../publish/publish-layer.js';
import { describeFailure, runJob } from './run-job.js';
import type { FromWorker, JobTask, ToWorker } from './worker-protocol.js';

/**
 * A publish worker thread: it opens its own connection to the store once, then runs
 * the jobs the pool hands it one at a time, so tiling never blocks the server's
 * event loop. A kill of the process ends the thread with it (no orphan can commit later).
 */
const port = parentPort;
if (!port) throw new Error('publish-worker must run in a worker thread');
const { dataDir } = workerData as { dataDir: string };
const store = openSqliteStore(dataDir);
const cancelled = new Set<number>();
/** Progress is sent at most this often (and at every stage change). */
const PROGRESS_INTERVAL_MS = 100;

const send = (msg: FromWorker): void => port.postMessage(msg);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') cancelled.add(msg.jobId);
  else void handle(msg.task);
});
send({ type: 'ready' });

async function handle(task: JobTask): Promise<void> {
  let lastSent = 0;
  let lastStage = '';
  const report = (progress: PublishProgress): void => {
    const now = Date.now();
    if (progress.stage === lastStage && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastSent = now;
    lastStage = progress.stage;
    send({ type: 'progress', jobId: task.jobId, progress });
  };
  try {
    const result = await runJob(task, {
      store, report,
      readingSource: (fingerprint) => send({ type: 'source', jobId: task.jobId, fingerprint }),
      cancelled: () => cancelled.has(task.jobId),
    });
    send({ type: 'done', jobId: task.jobId, result });
  } catch (err) {
    send({ type: 'failed', jobId: task.jobId, failure: describeFailure(err, task.revision?.label ?? null) });
  } finally {
    cancelled.delete(task.jobId);
  }
}

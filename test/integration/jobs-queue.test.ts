import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/load-config.js';
import type { Job } from '../../src/jobs/jobs.js';
import { STORE_FILE } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { adminConfig, bearer, publishViaApi, startAdminNode, TOKENS, waitForJob, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** A modest layer: no test here depends on a publish taking long. */
const BIG = { cols: 12, rows: 10 };

describe('the job queue', () => {
  let dir: string;
  let node: AdminNode | null = null;

  const start = async (extra: Record<string, unknown> = {}, layers?: unknown[], logger?: Logger): Promise<AdminNode> => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(BIG.cols, BIG.rows));
    const doc = adminConfig(extra);
    if (layers) doc.layers = layers;
    node = await startAdminNode(writeConfig(dir, doc), undefined, logger);
    return node;
  };
  const post = async (layer: string): Promise<Job> => {
    const res = await fetch(`${node?.url}/admin/layers/${layer}/publish`, { method: 'POST', headers: bearer(TOKENS.city) });
    expect(res.status).toBe(202);
    return (await res.json()) as Job;
  };
  /** A data dir whose store a node has created (and stopped): its tables exist for a test to fill. */
  const createdStore = async (): Promise<Config> => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    const config = writeConfig(dir, adminConfig());
    await (await startAdminNode(config)).stop();
    return config;
  };
  afterEach(async () => {
    await node?.stop();
    node = null;
    removeDir(dir);
  });

  it('runs one job for two concurrent publish requests of a layer', async () => {
    const n = await start();
    const [a, b] = await Promise.all([post('parcels'), post('parcels')]);
    expect(a?.id).toBe(b?.id);
    const done = await waitForJob(n.url, a?.id as number);
    expect(done).toMatchObject({ state: 'succeeded', version: '1.0.0', attempts: 1, progress: 1, stage: 'done' });
    expect(n.rt.jobs.list().map((j) => j.id)).toEqual([a?.id]);
  });

  it('queues a new job when the source changed after the running job read it; a further request joins that one', async () => {
    const n = await start();
    const first = await post('parcels');
    await waitForJob(n.url, first.id, (j) => j.stage === 'tile' || (j.state !== 'running' && j.state !== 'queued'));
    const fc = makeParcels(BIG.cols, BIG.rows);
    const p = fc.features[0]?.properties;
    if (p) p.DLMC = '已变更';
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    const second = await post('parcels');
    const third = await post('parcels');
    expect(second.id).not.toBe(first.id);
    expect(third.id).toBe(second.id);
    expect(await waitForJob(n.url, first.id)).toMatchObject({ state: 'succeeded', version: '1.0.0' });
    expect(await waitForJob(n.url, second.id)).toMatchObject({ state: 'succeeded', version: '1.1.0' });
    expect(n.rt.jobs.list()).toHaveLength(2);
  });

  it('runs at most schedule.concurrency jobs at once, and never two for one layer', async () => {
    const layers = ['a', 'b', 'c'].map((id) => ({ ...(parcelConfig().layers as Record<string, unknown>[])[0], id, source: 'parcels.geojson' }));
    for (const concurrency of [1, 2]) {
      const n = await start({ schedule: { concurrency } }, layers);
      let running = 0;
      let most = 0;
      const unsubscribe = n.rt.jobs.subscribe(() => {
        running = n.rt.jobs.list().filter((j) => j.state === 'running').length;
        most = Math.max(most, running);
      });
      const jobs = await Promise.all(['a', 'b', 'c'].map((l) => post(l)));
      const upload = await fetch(`${n.url}/admin/layers/a/source`, {
        method: 'PUT', headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json' }, body: JSON.stringify(makeParcels(4, 4)),
      });
      expect(upload.status).toBe(202);
      const uploadJob = (await upload.json()) as Job;
      const done = await Promise.all([...jobs, uploadJob].map((j) => waitForJob(n.url, j.id)));
      unsubscribe();
      expect(done.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      expect(most).toBe(concurrency);
      // The upload for "a" started only once a's publish had finished.
      expect(Date.parse(done[3]?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done[0]?.finishedAt ?? ''));
      await node?.stop();
      node = null;
      removeDir(dir);
    }
  });

  it('retries a job after SQLITE_BUSY (bounded), and not after a data error', async () => {
    // The lock is held from the job's start until the runner says it retries: however slow the
    // machine, the first attempt meets it (a lock held for a fixed time could end before the job writes).
    let locker: StoreLocker | null = null;
    const logger = pino({ level: 'warn' }, { write: (line: string) => { if (line.includes('the job is queued again')) locker?.release(); } });
    const n = await start({}, undefined, logger);
    locker = new StoreLocker(path.join(dir, 'store', STORE_FILE));
    let locked = false;
    const unsubscribe = n.rt.jobs.subscribe((job) => {
      // Synchronously, before the job reaches its thread: another connection holds the write lock past busy_timeout.
      if (job.state === 'running' && !locked) {
        locked = true;
        locker?.hold();
      }
    });
    const job = await post('parcels');
    const done = await waitForJob(n.url, job.id, undefined, 90_000);
    unsubscribe();
    await locker.close();
    expect(done).toMatchObject({ state: 'succeeded', version: '1.0.0', attempts: 2 });
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { BSM: 'x' }, geometry: { type: 'Point', coordinates: [Number.NaN, 1] } }] });
    const bad = await publishViaApi(n.url, 'parcels');
    expect(bad).toMatchObject({ state: 'failed', attempts: 1 });
    expect(bad.error).toMatch(/^parcels\.geojson: feature BSM=x: /);
    const tile = await fetch(`${n.url}/tiles/parcels.json`);
    expect(tile.headers.get('x-tile-version')).toBe('1.0.0');
  });

  it('marks a job left running by a dead process failed as interrupted, and runs the queued ones', async () => {
    const config = await createdStore();
    const db = new Database(path.join(dir, 'store', STORE_FILE));
    const now = new Date().toISOString();
    db.prepare("INSERT INTO jobs (layer, kind, state, requested_by, attempts, runner, created_at, started_at) VALUES ('parcels', 'publish', 'running', 'city', 1, 'gone', ?, ?)").run(now, now);
    db.prepare("INSERT INTO jobs (layer, kind, state, requested_by, created_at) VALUES ('parcels', 'publish', 'queued', 'city', ?)").run(now);
    db.close();
    node = await startAdminNode(config);
    const jobs = node.rt.jobs.list();
    const [queued, interrupted] = jobs;
    expect(interrupted).toMatchObject({ state: 'failed', error: expect.stringMatching(/^interrupted/) });
    expect(await waitForJob(node.url, queued?.id as number)).toMatchObject({ state: 'succeeded', version: '1.0.0' });
  });

  it('leaves the running job and the upload of a live neighbour process alone (a reader starting beside the writer)', async () => {
    const config = await createdStore();
    // Two real processes: one still running (the writer), one that has ended.
    const writer = spawn('sleep', ['60']);
    const ended = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => ended.once('exit', r));
    try {
      const db = new Database(path.join(dir, 'store', STORE_FILE));
      const now = new Date().toISOString();
      const job = db.prepare("INSERT INTO jobs (layer, kind, state, requested_by, attempts, runner, runner_pid, created_at, started_at) VALUES (?, 'publish', 'running', 'city', 1, 'r', ?, ?, ?)");
      const liveJob = Number(job.run('parcels', writer.pid, now, now).lastInsertRowid);
      const deadJob = Number(job.run('other', ended.pid, now, now).lastInsertRowid);
      const rev = db.prepare("INSERT INTO source_revisions (layer, kind, state, dir, uploaded_by, uploaded_at, owner_pid) VALUES ('parcels', 'geojson', 'receiving', ?, 'city', ?, ?)");
      const liveRev = Number(rev.run('sources/parcels/r1', now, writer.pid).lastInsertRowid);
      const deadRev = Number(rev.run('sources/parcels/r2', now, ended.pid).lastInsertRowid);
      db.close();
      for (const r of [liveRev, deadRev]) mkdirSync(path.join(dir, 'store', 'sources', 'parcels', `r${r}`), { recursive: true });
      for (const r of [liveRev, deadRev]) writeGeojson(path.join(dir, 'store', 'sources', 'parcels', `r${r}`, 'part.geojson'), makeParcels(1, 1));
      node = await startAdminNode(config);
      expect(node.rt.jobs.get(liveJob)).toMatchObject({ state: 'running', error: null });
      expect(node.rt.jobs.get(deadJob)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^interrupted/) });
      const revisions = node.rt.jobs.revisions('parcels');
      expect(revisions.find((r) => r.id === liveRev)?.state).toBe('receiving');
      expect(revisions.find((r) => r.id === deadRev)?.state).toBe('rejected');
      expect(existsSync(path.join(dir, 'store', 'sources', 'parcels', `r${liveRev}`))).toBe(true);
      expect(existsSync(path.join(dir, 'store', 'sources', 'parcels', `r${deadRev}`))).toBe(false);
    } finally {
      writer.kill();
    }
  });

  it('runs no jobs in a process with schedule.runJobs false: admin publishes and uploads are refused (409) and nothing is queued or stored', async () => {
    const n = await start({ schedule: { runJobs: false } });
    const res = await fetch(`${n.url}/admin/layers/parcels/publish`, { method: 'POST', headers: bearer(TOKENS.city) });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: expect.stringMatching(/runs no publish jobs.*writer/), detail: { layer: 'parcels' } });
    const upload = await fetch(`${n.url}/admin/layers/parcels/source`, { method: 'PUT', headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json' }, body: JSON.stringify(makeParcels(1, 1)) });
    expect(upload.status).toBe(409);
    expect(n.rt.jobs.list()).toEqual([]);
    expect(n.rt.jobs.revisions('parcels')).toEqual([]);
    expect(existsSync(path.join(dir, 'store', 'sources'))).toBe(false);
  });

  it('streams job updates with progress over GET /admin/events', async () => {
    const n = await start();
    // HEAD gets the stream's headers and an end, not a stream that never answers.
    const head = await fetch(`${n.url}/admin/events`, { method: 'HEAD', headers: bearer(TOKENS.city), signal: AbortSignal.timeout(5000) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const controller = new AbortController();
    const res = await fetch(`${n.url}/admin/events`, { headers: bearer(TOKENS.city), signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen: Job[] = [];
    const publishes: unknown[] = [];
    const reading = (async () => {
      let buffer = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
          if (block.includes('event: job') && data) seen.push(JSON.parse(data) as Job);
          if (block.includes('event: publish') && data) publishes.push(JSON.parse(data));
          if (publishes.length && seen.some((j) => j.state === 'succeeded')) return;
        }
      }
    })();
    await post('parcels');
    await reading;
    controller.abort();
    const running = seen.filter((j) => j.state === 'running');
    expect(seen[0]?.state).toBe('queued');
    expect(running.some((j) => j.progress > 0 && j.progress < 1 && j.stage === 'tile')).toBe(true);
    const progress = running.map((j) => j.progress);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(seen.at(-1)).toMatchObject({ state: 'succeeded', progress: 1, version: '1.0.0' });
    expect(publishes[0]).toMatchObject({ layer: 'parcels', version: '1.0.0', kind: 'publish' });
  });
});

/**
 * Holds the store's write lock from another thread, so this thread's event loop (the
 * server's) keeps running while SQLite makes other writers wait.
 */
class StoreLocker {
  private readonly worker: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));

  constructor(file: string) {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const Database = require(workerData.module);
      const db = new Database(workerData.file);
      parentPort.on('message', (what) => {
        if (what === 'release') {
          if (db.inTransaction) db.exec('COMMIT');
          return;
        }
        db.exec('BEGIN IMMEDIATE');
        Atomics.store(workerData.flag, 0, 1);
        Atomics.notify(workerData.flag, 0);
      });`;
    this.worker = new Worker(code, { eval: true, workerData: { file, flag: this.flag, module: createRequire(import.meta.url).resolve('better-sqlite3') } });
  }

  /** Takes the store's write lock and returns once it is held, until release(). */
  hold(): void {
    this.worker.postMessage('hold');
    Atomics.wait(this.flag, 0, 0, 5000);
  }

  /** Lets the lock go (from another thread, so a writer blocked on the main thread gets it). */
  release(): void {
    this.worker.postMessage('release');
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

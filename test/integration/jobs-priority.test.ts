import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { JobSystem } from '../../pipeline/jobs/job-system.js';
import { DEFAULT_PUBLISH_NICE, lowerThreadPriority } from '../../pipeline/jobs/thread-priority.js';
import type { Job } from '../../src/jobs/jobs.js';
import { SqliteAudit } from '../../src/store/sqlite-audit.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** Every thread of this process and its nice value, as the kernel reports it (field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // The command name (field 2) is in parentheses and may hold spaces; field 3 follows ") ", so field 19 is index 16.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[16]));
  }
  return nices;
}

/** Not the default (DEFAULT_PUBLISH_NICE, 19), so that the test shows the configured level is the one applied. */
const NICE = 12;

// A publish must not stall serving: the publish thread, and the tiling threads it starts, run below the serving thread.
describe.skipIf(process.platform !== 'linux')('publish thread priority (Linux per-thread nice)', () => {
  let dir = '';
  let store: SqliteStore | null = null;
  let jobs: JobSystem | null = null;

  afterEach(async () => {
    await jobs?.stop();
    store?.close();
    removeDir(dir);
  });

  it('runs publish jobs on a thread at the configured nice, whose tiling threads inherit it and are kept for the next job, while the main thread keeps its own', async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(40, 30));
    // One tiling thread whatever the machine's cores, so there is a thread for the publish thread to start.
    const config = writeConfig(dir, { ...parcelConfig(), schedule: { nice: NICE, tilingThreads: 1 } });
    store = openSqliteStore(config.storage.dir);
    jobs = new JobSystem({ config, db: store.db, audit: new SqliteAudit(store.db), logger: pino({ level: 'silent' }) });
    // libuv starts its thread pool on first use; start it here so that every thread appearing later belongs to the jobs.
    await readFile(config.file);
    const mainNice = threadNices().get(process.pid);
    expect(mainNice).toBeDefined();
    const expected = Math.max(mainNice as number, NICE);

    const beforeStart = threadNices();
    await jobs.start();
    const afterStart = threadNices();
    const poolThreads = [...afterStart].filter(([tid]) => !beforeStart.has(tid));
    expect(poolThreads.map(([, nice]) => nice)).toContain(expected);

    // Sample the threads while the job runs: every thread that appears is started by the publish thread.
    const appeared = new Map<number, number>();
    let known = afterStart;
    const sample = (): void => {
      for (const [tid, nice] of threadNices()) if (!known.has(tid)) appeared.set(tid, nice);
    };
    const runJob = async (): Promise<Job> => {
      const sampler = setInterval(sample, 1);
      // Subscribed before the job can end: its events come from the publish thread, after this turn.
      const { job } = (jobs as JobSystem).enqueuePublish('parcels', 'test');
      const done = await new Promise<Job>((resolve) => {
        jobs?.subscribe((j) => { if (j.id === job.id && j.state !== 'queued' && j.state !== 'running') resolve(j); });
      });
      clearInterval(sampler);
      return done;
    };

    expect(await runJob()).toMatchObject({ state: 'succeeded', version: '1.0.0' });
    expect(appeared.size).toBeGreaterThan(0);
    expect([...appeared.values()].every((nice) => nice === expected)).toBe(true);
    expect(threadNices().get(process.pid)).toBe(mainNice);

    // The next job tiles on the thread the first one left: no thread appears, and it is still at the publish's level.
    const firstJobs = new Map(appeared);
    appeared.clear();
    known = threadNices();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(41, 30));
    expect(await runJob()).toMatchObject({ state: 'succeeded', version: '1.1.0' });
    expect(appeared.size).toBe(0);
    const now = threadNices();
    expect([...firstJobs.keys()].filter((tid) => now.get(tid) === expected).length).toBeGreaterThan(0);
  });

  it('runs the publish thread at the lowest priority, nice 19, when schedule.nice is not set', async () => {
    expect(DEFAULT_PUBLISH_NICE).toBe(19);
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(40, 30));
    const config = writeConfig(dir, parcelConfig());
    store = openSqliteStore(config.storage.dir);
    jobs = new JobSystem({ config, db: store.db, audit: new SqliteAudit(store.db), logger: pino({ level: 'silent' }) });
    await readFile(config.file);
    const beforeStart = threadNices();
    await jobs.start();
    const started = [...threadNices()].filter(([tid]) => !beforeStart.has(tid)).map(([, nice]) => nice);
    expect(started).toContain(DEFAULT_PUBLISH_NICE);
    expect(threadNices().get(process.pid)).toBe(beforeStart.get(process.pid));
  });
});

describe('publish thread priority elsewhere', () => {
  it('is left alone where nice is not per thread (it could slow the whole server), and says so', () => {
    expect(lowerThreadPriority(NICE, 'darwin')).toEqual({ kind: 'failed', message: 'per-thread priority is not supported on darwin' });
  });
});

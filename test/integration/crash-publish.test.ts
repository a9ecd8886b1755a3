import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Feature, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/generate-parcels.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import type { Job } from '../../src/jobs/jobs.js';
import { STORE_FILE } from '../../src/store/sqlite-store.js';
import { adminConfig, bearer, TOKEN_ENV, TOKENS } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

const CLI = path.resolve('dist/src/cli/main.js');
const SEED = 0x5eed2024;
/** Kills spread in time over the publish, then kills in its commit stage. */
const TIMED_KILLS = 7;
const COMMIT_KILLS = 3;
const KILLS = TIMED_KILLS + COMMIT_KILLS;
/** Sample tiles (z, lon, lat) across zooms, inside the generated parcels. */
const SAMPLES: [number, number, number][] = [[8, 115.9, 36.4], [10, 115.9, 36.4], [12, 115.85, 36.35], [13, 115.95, 36.45], [15, 115.81, 36.31], [15, 115.99, 36.45]];


/** 2,000 parcels: enough that a publish takes long enough to be killed anywhere in it. */
function parcels(round: number, pick: () => number): { type: 'FeatureCollection'; features: Feature<Polygon>[] } {
  const features: Feature<Polygon>[] = [];
  const touched = new Set(Array.from({ length: 40 }, () => Math.floor(pick() * 2000)));
  for (let r = 0; r < 40; r++) {
    for (let c = 0; c < 50; c++) {
      const i = r * 50 + c;
      const lon = 115.8 + c * 0.004;
      const lat = 36.3 + r * 0.004;
      features.push({
        type: 'Feature',
        properties: { BSM: `3715${String(i).padStart(14, '0')}`, DLMC: ['水田', '旱地', '水浇地'][i % 3] as string, V: touched.has(i) ? round : 0 },
        geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + 0.0035, lat], [lon + 0.0035, lat + 0.0032], [lon + 0.0002, lat + 0.0036], [lon, lat]]] },
      });
    }
  }
  return { type: 'FeatureCollection', features };
}

interface Served {
  child: ChildProcess;
  url: string;
}

/** Starts `plantiles serve` as a user would; resolves with its URL once it listens. */
function serve(configFile: string): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...TOKEN_ENV, PLANTILES_CONFIG: configFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /plantiles serving .* at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] as string });
    });
    child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

function kill(s: Served, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) resolve(s.child.exitCode);
    s.child.once('exit', (code) => resolve(code));
    s.child.kill(signal);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A GET retried once when a pooled keep-alive socket turns out closed (the server
 * dropped it as the request went out). A server that is really gone fails the retry too.
 */
async function retryOnSocketError(request: () => Promise<Response>): Promise<Response> {
  try {
    return await request();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    return request();
  }
}

describe.skipIf(!existsSync(CLI))('a publishing process killed with SIGKILL', () => {
  let dir: string;
  let configFile: string;
  let server: Served | null = null;
  const random = seededRandom(SEED);

  const api = async <T>(url: string, init: RequestInit = {}): Promise<T> => {
    const request = (): Promise<Response> => fetch(url, { ...init, headers: { ...bearer(TOKENS.city), ...(init.headers as Record<string, string> | undefined) } });
    const res = init.method ? await request() : await retryOnSocketError(request);
    return (await res.json()) as T;
  };
  const tiles = async (url: string, version: string): Promise<(Buffer | number)[]> =>
    Promise.all(SAMPLES.map(async ([z, lon, lat]) => {
      const { x, y } = tileForLonLat(lon, lat, z);
      const res = await retryOnSocketError(() => fetch(`${url}/tiles/parcels@${version}/${z}/${x}/${y}.mvt`, { headers: { 'accept-encoding': 'identity' } }));
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : res.status;
    }));
  const current = async (url: string): Promise<string> => {
    const layers = (await api<{ layers: { id: string; current: string | null }[] }>(`${url}/admin/layers?layer=parcels`)).layers;
    const version = layers[0]?.current ?? '';
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    return version;
  };

  beforeAll(() => {
    dir = makeTempDir('plantiles-crash-');
    writeFileSync(path.join(dir, 'parcels.geojson'), JSON.stringify(parcels(0, random)));
    const config = adminConfig({ server: { host: '127.0.0.1', port: 0 } });
    (config.layers as Record<string, unknown>[])[0] = { id: 'parcels', source: 'parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 15 };
    configFile = writeConfig(dir, config).file;
  });
  afterAll(async () => {
    if (server) await kill(server, 'SIGKILL');
    removeDir(dir);
  });

  it(`keeps the store whole and the previous version serving after ${KILLS} kills at random points`, async () => {
    server = await serve(configFile);
    const first = await api<Job>(`${server.url}/admin/layers/parcels/publish`, { method: 'POST' });
    expect(await waitFinished(server.url, first.id)).toBe('succeeded');
    // How long a republish like the killed ones takes here, to spread the kill points over it (never asserted).
    writeFileSync(path.join(dir, 'parcels.geojson'), JSON.stringify(parcels(KILLS + 1, random)));
    const warm = await api<Job>(`${server.url}/admin/layers/parcels/publish`, { method: 'POST' });
    expect(await waitFinished(server.url, warm.id)).toBe('succeeded');
    const done = await api<Job>(`${server.url}/admin/jobs/${warm.id}`);
    const duration = Date.parse(done.finishedAt ?? '') - Date.parse(done.startedAt ?? '');
    let interrupted = 0;
    const killedAt: { state: string; stage: string | null; progress: number; delay: number }[] = [];
    for (let round = 1; round <= KILLS; round++) {
      const url = server.url;
      const previous = await current(url);
      const before = await tiles(url, previous);
      expect(before.filter((t) => Buffer.isBuffer(t)).length, 'sample tiles with data').toBeGreaterThanOrEqual(4);
      writeFileSync(path.join(dir, 'parcels.geojson'), JSON.stringify(parcels(round, random)));
      // Timed rounds: stratum k of the publish's duration after it started. Commit rounds: a few ms after
      // the job announced its commit. The job's events come over /admin/events, so the trigger is prompt.
      const timed = round <= TIMED_KILLS;
      const delay = timed ? Math.floor((duration * (round - 1 + random())) / TIMED_KILLS) : Math.floor(random() * 4);
      const watcher = await watchJobs(url);
      const triggered = watcher.when((j) => (timed ? j.state === 'running' : j.stage === 'commit' || j.state === 'succeeded'));
      const job = await api<Job>(`${url}/admin/layers/parcels/publish`, { method: 'POST' });
      await triggered;
      await sleep(delay);
      const seen = watcher.last(job.id) ?? job;
      await kill(server, 'SIGKILL');
      watcher.close();
      killedAt.push({ state: seen.state, stage: seen.stage, progress: seen.progress, delay });

      const db = new Database(path.join(dir, 'store', STORE_FILE));
      expect(db.pragma('integrity_check'), `round ${round}`).toEqual([{ integrity_check: 'ok' }]);
      db.close();
      server = await serve(configFile);
      const after = await api<Job>(`${server.url}/admin/jobs/${job.id}`);
      const jobs = (await api<{ jobs: Job[] }>(`${server.url}/admin/jobs`)).jobs;
      expect(jobs.filter((j) => j.state === 'running' || j.state === 'queued'), `round ${round}`).toEqual([]);
      const now = await current(server.url);
      if (timed) interrupted += after.state === 'failed' ? 1 : 0;
      if (after.state === 'succeeded') {
        expect(now).toBe(after.version);
        expect(now).not.toBe(previous);
      } else {
        expect(after, `round ${round}: ${JSON.stringify(killedAt.at(-1))}`).toMatchObject({ state: 'failed', error: expect.stringMatching(/^interrupted/) });
        expect(now).toBe(previous);
      }
      expect(await tiles(server.url, previous), `round ${round}`).toEqual(before);
      const store = new Database(path.join(dir, 'store', STORE_FILE), { readonly: true });
      expect(store.prepare("SELECT count(*) AS n FROM versions WHERE state = 'building'").get()).toEqual({ n: 0 });
      expect(store.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      store.close();
    }
    // The points really were spread: commit rounds were killed at or after the commit's start.
    expect(killedAt.slice(TIMED_KILLS).every((k) => k.stage === 'commit' || k.stage === 'done')).toBe(true);
    // Timed kills really cut publishes short (the last strata may come after one finished).
    expect(interrupted).toBeGreaterThanOrEqual(3);
    // After all that, a publish runs to the end and a graceful stop exits 0.
    const last = await api<Job>(`${server.url}/admin/layers/parcels/publish`, { method: 'POST' });
    expect(await waitFinished(server.url, last.id)).toMatch(/^(succeeded|unchanged)$/);
    expect(await kill(server, 'SIGTERM')).toBe(0);
    server = null;
  }, 300_000);

  /** Follows /admin/events: the last state of each job, and a promise for the first event matching a predicate. */
  async function watchJobs(url: string): Promise<{ when(p: (j: Job) => boolean): Promise<Job>; last(id: number): Job | undefined; close(): void }> {
    const controller = new AbortController();
    const res = await fetch(`${url}/admin/events`, { headers: bearer(TOKENS.city), signal: controller.signal });
    const latest = new Map<number, Job>();
    const waiting: { p: (j: Job) => boolean; resolve: (j: Job) => void }[] = [];
    void (async () => {
      let buffer = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (!block.includes('event: job') || !data) continue;
            const job = JSON.parse(data.slice(6)) as Job;
            latest.set(job.id, job);
            for (const w of waiting.splice(0)) if (w.p(job)) w.resolve(job); else waiting.push(w);
          }
        }
      } catch {
        // The server was killed: the stream ends.
      }
    })();
    return {
      when: (p) => new Promise((resolve) => waiting.push({ p, resolve })),
      last: (id) => latest.get(id),
      close: () => controller.abort(),
    };
  }

  async function waitFinished(url: string, id: number): Promise<string> {
    for (;;) {
      const job = await api<Job>(`${url}/admin/jobs/${id}`);
      if (job.state !== 'queued' && job.state !== 'running') return job.state;
      await sleep(50);
    }
  }
});

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { seededRandom } from './generate-parcels.js';

/** The built CLI beside this compiled file (dist/bench → dist/src/cli), whichever folder the build went to. */
export const CLI_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** The bare Node peer (b), built beside this file. */
export const BARE_SERVER = fileURLToPath(new URL('./peers/bare-server.js', import.meta.url));

/** The layer the serving benchmark serves, and the one it publishes while measuring. */
export const SERVED_LAYER = 'farmland';
export const PUBLISHED_LAYER = 'farmland-next';

/** Layers published one after another while measuring (each a full publish), so a publish runs through every "while publishing" run. */
export const PUBLISHED_LAYERS = Array.from({ length: 8 }, (_, k) => (k === 0 ? PUBLISHED_LAYER : `${PUBLISHED_LAYER}-${k + 1}`));
/** New layers (a) publishes as jobs of its own, through its admin API, while it is measured. */
export const JOB_LAYERS = Array.from({ length: 8 }, (_, k) => `farmland-job-${k + 1}`);

/** The nice level of the background publish: the lowest, as docs/operations.md advises for a CLI publish on a serving machine. */
export const PUBLISH_NICE = 19;

/** Zoom range of the served layer: that of the demo's farmland parcels (a parcel layer is not drawn below z10). */
export const SERVED_ZOOMS = { minzoom: 10, maxzoom: 14 } as const;

/** The environment variable holding the benchmark's admin token. */
export const BENCH_ADMIN_TOKEN_ENV = 'PLANTILES_BENCH_TOKEN';

/** Writes the benchmark's config: both layers (served, and published while measuring) from the bench parcels, z10–z14, store in `dir/store`. */
export function writeServingConfig(dir: string, source: string, publishedLayers: readonly string[] = PUBLISHED_LAYERS): string {
  const layer = (id: string): Record<string, unknown> => ({ id, title: `耕地图斑 ${id}`, source, idField: 'BSM', ...SERVED_ZOOMS });
  const file = path.join(dir, 'plantiles.yaml');
  writeFileSync(file, stringify({
    node: { id: 'bench', title: 'plantiles serving benchmark (synthetic parcels)' },
    storage: { dir: './store', keepVersions: 5 },
    schedule: { scan: '' },
    // Usable only by a process started with BENCH_ADMIN_TOKEN_ENV set (to publish through the job system).
    admin: { tokens: [{ name: 'bench', env: BENCH_ADMIN_TOKEN_ENV }] },
    layers: [layer(SERVED_LAYER), ...publishedLayers.map(layer)],
  }));
  return file;
}

/** Runs the built CLI to completion; throws with its stderr on failure. Returns seconds taken. */
export function runCli(config: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI_MAIN, '--config', config, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`plantiles ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * How the background publish is scheduled: `nice` (the default) at nice PUBLISH_NICE;
 * BENCH_PUBLISH_POLICY=idle adds SCHED_IDLE (`chrt --idle 0`) for every thread of it.
 * SCHED_IDLE is not the default: the server reads the store the publisher writes, on
 * its event loop (the change feed's poll), and a publisher starved while it holds one
 * of SQLite's WAL locks (a checkpoint, a WAL restart) makes that read wait for it —
 * priority inversion: a run with it measured p99 250 ms against 16 ms at nice 10.
 */
export const PUBLISH_POLICY: 'idle' | 'nice' = process.env.BENCH_PUBLISH_POLICY === 'idle' && hasChrt() ? 'idle' : 'nice';

function hasChrt(): boolean {
  return process.platform === 'linux' && spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a CLI publish in the background at nice PUBLISH_NICE, under SCHED_IDLE where
 * PUBLISH_POLICY says so; resolves `started` once it reports tiling, `done` with its exit
 * code. It starts under nice(1) (and chrt(1)), so every thread of it (V8's and libuv's
 * included) runs at that priority from the first instruction, and it stays in this
 * process's session: with sched_autogroup, nice only weighs against processes of the
 * same session, which is where the measured servers run.
 *
 * A batch publish yields the CPU to serving, as an operator runs it on a serving machine.
 */
export function publishInBackground(config: string, layer: string, logFile: string): { started: Promise<void>; done: Promise<number | null>; stop(): void; pid: number | undefined } {
  const cli = ['nice', '-n', String(PUBLISH_NICE), process.execPath, CLI_MAIN, '--config', config, 'publish', layer, '--json'];
  const [command, ...args] = (PUBLISH_POLICY === 'idle' ? ['chrt', '--idle', '0', ...cli] : cli) as [string, ...string[]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const started = new Promise<void>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/"stage":"tile"/.test(out)) resolve();
    });
    child.once('exit', () => resolve());
  });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    writeFileSync(logFile, out);
    resolve(code);
  }));
  return { started, done, pid: child.pid, stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); } };
}

/**
 * Publishes `layers` one after another (each a full publish of a new layer) until stopped,
 * so that a publish is running whenever measurements run. `started` resolves once the first
 * is tiling; `count()` says how many started; `running()` is false once the last ended.
 */
export function publishContinuously(config: string, layers: readonly string[], logDir: string): { started: Promise<void>; stop(): Promise<void>; count(): number; running(): boolean; pid(): number | undefined } {
  let stopped = false;
  let current: ReturnType<typeof publishInBackground> | null = null;
  let count = 0;
  let ended = false;
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => { markStarted = resolve; });
  const loop = (async (): Promise<void> => {
    for (const layer of layers) {
      if (stopped) break;
      current = publishInBackground(config, layer, path.join(logDir, `publish-${layer}.log`));
      count++;
      void current.started.then(markStarted);
      await current.done;
    }
    ended = true;
    markStarted();
  })();
  return {
    started,
    count: () => count,
    running: () => !ended,
    pid: () => current?.pid,
    stop: async () => {
      stopped = true;
      current?.stop();
      await loop;
    },
  };
}

/** A publish job as the admin API shows it, once ended. */
export interface EndedJob {
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

/**
 * Runs a publish job of `layer` on a running `plantiles serve` (POST
 * /admin/layers/{id}/publish, as an administrator or the scheduler would) and asks how it
 * is going every `pollMs` until it ends; throws unless it succeeded. Returns the job and
 * the seconds from the request to the end as the poller saw it (at most `pollMs` late).
 */
export async function runPublishJob(base: string, token: string, layer: string, pollMs: number, onRunning?: () => void): Promise<{ job: EndedJob; seconds: number }> {
  const headers = { authorization: `Bearer ${token}` };
  const start = performance.now();
  const res = await fetch(`${base}/admin/layers/${layer}/publish`, { method: 'POST', headers });
  if (res.status !== 202) throw new Error(`publish job of ${layer}: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: number };
  for (;;) {
    const job = (await (await fetch(`${base}/admin/jobs/${id}`, { headers })).json()) as EndedJob;
    if (job.state === 'running') onRunning?.();
    if (job.state !== 'queued' && job.state !== 'running') {
      if (job.state !== 'succeeded') throw new Error(`publish job of ${layer} ended ${job.state}: ${job.error ?? ''}`);
      return { job, seconds: (performance.now() - start) / 1000 };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Has a running `plantiles serve` publish `layers` one after another as jobs of its own,
 * until stopped. `started` resolves once the first job runs; `durations` are the finished
 * jobs' seconds, by the server's clock; `running()` is false once the last ended.
 */
export function publishJobsContinuously(base: string, token: string, layers: readonly string[]): { started: Promise<void>; stop(): Promise<void>; durations: number[]; running(): boolean } {
  let stopped = false;
  let ended = false;
  const durations: number[] = [];
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => { markStarted = resolve; });
  const loop = (async (): Promise<void> => {
    try {
      for (const layer of layers) {
        if (stopped) break;
        const { job } = await runPublishJob(base, token, layer, 250, markStarted);
        durations.push((Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')) / 1000);
      }
    } finally {
      ended = true;
      markStarted();
    }
  })();
  return {
    started, durations,
    running: () => !ended,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** A tile address in XYZ order. */
export interface Xyz { z: number; x: number; y: number }

/** A fixed seeded random list of `count` tiles that exist at the given zooms, read from an MBTiles file. */
export function pickTiles(mbtiles: string, zooms: readonly number[], count: number, seed = 20261130): Xyz[] {
  const db = new Database(mbtiles, { readonly: true });
  try {
    const rows = db.prepare(`SELECT zoom_level AS z, tile_column AS x, tile_row AS row FROM tiles WHERE zoom_level IN (${zooms.map(() => '?').join(',')}) ORDER BY 1, 2, 3`)
      .all(...zooms) as { z: number; x: number; row: number }[];
    const tiles = rows.map((r) => ({ z: r.z, x: r.x, y: 2 ** r.z - 1 - r.row }));
    const rnd = seededRandom(seed);
    for (let i = tiles.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [tiles[i], tiles[j]] = [tiles[j] as Xyz, tiles[i] as Xyz];
    }
    return tiles.slice(0, count);
  } finally {
    db.close();
  }
}

/** Writes every tile of an MBTiles file as `{root}/{z}/{x}/{y}.mvt` (the stored gzip bytes), for a static server. */
export function writeStaticTiles(mbtiles: string, root: string): number {
  const db = new Database(mbtiles, { readonly: true });
  let n = 0;
  try {
    for (const r of db.prepare('SELECT zoom_level AS z, tile_column AS x, tile_row AS row, tile_data AS data FROM tiles').iterate() as IterableIterator<{ z: number; x: number; row: number; data: Buffer }>) {
      const dir = path.join(root, String(r.z), String(r.x));
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `${2 ** r.z - 1 - r.row}.mvt`), r.data);
      n++;
    }
  } finally {
    db.close();
  }
  return n;
}

/** Counts and sizes of the tiles in an MBTiles file. */
export function tileStats(mbtiles: string, zooms: readonly number[]): { tiles: number; meanBytes: number } {
  const db = new Database(mbtiles, { readonly: true });
  try {
    const r = db.prepare(`SELECT count(*) AS n, avg(length(tile_data)) AS mean FROM tiles WHERE zoom_level IN (${zooms.map(() => '?').join(',')})`).get(...zooms) as { n: number; mean: number };
    return { tiles: r.n, meanBytes: Math.round(r.mean) };
  } finally {
    db.close();
  }
}

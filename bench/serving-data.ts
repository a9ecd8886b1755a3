import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { seededRandom } from './generate-parcels.js';

/** The layer the serving benchmark serves, and the one it publishes while measuring. */
export const SERVED_LAYER = 'farmland';
export const PUBLISHED_LAYER = 'farmland-next';

/** The nice level of the background publish. */
export const PUBLISH_NICE = 10;

/** Zoom range of the served layer: that of the demo's farmland parcels (a parcel layer is not drawn below z10). */
export const SERVED_ZOOMS = { minzoom: 10, maxzoom: 14 } as const;

/** Writes the benchmark's config: both layers from the bench parcels, z10–z14, store in `dir/store`. */
export function writeServingConfig(dir: string, source: string): string {
  const layer = (id: string): Record<string, unknown> => ({ id, title: `耕地图斑 ${id}`, source, idField: 'BSM', ...SERVED_ZOOMS });
  const file = path.join(dir, 'plantiles.yaml');
  writeFileSync(file, stringify({
    node: { id: 'bench', title: 'plantiles serving benchmark (synthetic parcels)' },
    storage: { dir: './store', keepVersions: 5 },
    schedule: { scan: '' },
    layers: [layer(SERVED_LAYER), layer(PUBLISHED_LAYER)],
  }));
  return file;
}

/** Runs the built CLI to completion; throws with its stderr on failure. Returns seconds taken. */
export function runCli(config: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', config, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`plantiles ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Starts a CLI publish in the background; resolves `started` once it reports tiling, `done` with its exit code. */
export function publishInBackground(config: string, layer: string, logFile: string): { started: Promise<void>; done: Promise<number | null>; stop(): void } {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', '--config', config, 'publish', layer, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A batch publish yields the CPU to serving, as an operator runs it on a serving machine (nice 10).
  if (child.pid !== undefined) setPriority(child.pid, PUBLISH_NICE);
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
  return { started, done, stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); } };
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

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { editParcels, type EditCounts, type ParcelEdit } from './generate-parcels.js';
import type { PublishStage } from '../pipeline/publish/publish-layer.js';
import type { PublishFigures } from './publish-child.js';
import type { BenchContext, BenchSection } from './section.js';
import { POLL_MS, publishInServer, type ServerRuns } from './tiling-server.js';

/** The tile-size budget every tool is judged against (plantiles' default, 500 KiB gzipped). */
const BUDGET = 512_000;
const ZOOMS = { min: 0, max: 14 };
const GDAL_TIMEOUT_MS = 60 * 60 * 1000;
/**
 * Runs of each plantiles publish, the median reported: a republish takes a few seconds, so
 * one run swung its ratio by a fifth from run to run. A republish starts each run from a
 * copy of the store as it was before it; a full publish from an empty store.
 */
const RUNS = 3;

/** One measured run. */
interface Figures {
  seconds: number;
  peakRss: number;
  /** The machine's 1-minute load average when the run started (other work slows every tool alike). */
  load: number;
  tiles: number;
  bytes: number;
  largest: number;
  overBudget: number;
}

/** Runs a command, timing it and following its peak RSS (VmHWM) until it exits; returns its stdout. */
function measure(command: string, args: string[], timeoutMs = 0): Promise<{ seconds: number; peakRss: number; load: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const load = os.loadavg()[0] ?? 0;
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let peakRss = 0;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
      } catch {
        // The process may have exited between polls.
      }
    }, 100);
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      if (code !== 0) reject(new Error(`${path.basename(command)} ${args.slice(0, 2).join(' ')} exited ${code ?? signal}`));
      else resolve({ seconds: (performance.now() - start) / 1000, peakRss, load, stdout });
    });
  });
}

/** Publishes `layer` of `configFile` in a child process. */
async function publishInChild(configFile: string, layer: string): Promise<Published> {
  const run = await measure(process.execPath, [fileURLToPath(new URL('./publish-child.js', import.meta.url)), configFile, layer]);
  const figures = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as PublishFigures;
  return { ...figures, vmHwm: run.peakRss, load: run.load };
}

/** A publish child's figures with what the parent measured. */
type Published = PublishFigures & { vmHwm: number; load: number };

/** A publish run RUNS times: the run of median wall time, every run's time, and the highest peak RSS of any. */
type Repeated = Published & { runs: number[]; highestRss: number };

/**
 * Publishes RUNS times, `reset` putting the store back before each run, and returns the
 * median run (by wall time) with every run's time and the highest peak RSS. The store is
 * left as the last run made it (every run makes the same tiles).
 */
async function publishRepeated(configFile: string, layer: string, reset: () => void): Promise<Repeated> {
  const runs: Published[] = [];
  for (let k = 0; k < RUNS; k++) {
    reset();
    runs.push(await publishInChild(configFile, layer));
  }
  const byTime = [...runs].sort((a, b) => a.seconds - b.seconds);
  const median = byTime[Math.floor(byTime.length / 2)] as Published;
  return { ...median, runs: runs.map((r) => r.seconds), highestRss: Math.max(...runs.map((r) => Math.max(r.peakRss, r.vmHwm))) };
}

/** The share of a version's plain tile bytes held by tiles that differ from the version before it: what a republish had to encode and compress again. */
function changedShare(storeDir: string, layer: string): { tiles: number; byteShare: number } {
  const store = openSqliteStore(storeDir);
  try {
    const versions = store.getLayer(layer)?.versions ?? [];
    const [current, before] = versions;
    if (!current || !before) throw new Error(`${layer} has no version before its current one`);
    const old = new Map<string, string>();
    for (const t of store.iterateTiles(before.vid)) old.set(`${t.z}/${t.x}/${t.y}`, t.hash);
    let all = 0;
    let changed = 0;
    let tiles = 0;
    for (const t of store.iterateTiles(current.vid)) {
      const plain = gunzipSync(t.gz).length;
      all += plain;
      if (old.get(`${t.z}/${t.x}/${t.y}`) === t.hash) continue;
      changed += plain;
      tiles++;
    }
    return { tiles, byteShare: all ? changed / all : 0 };
  } finally {
    store.close();
  }
}

type TileFigures = Omit<Figures, 'seconds' | 'peakRss' | 'load'>;

/** Tile figures of a layer's current version in a plantiles store. */
function storeFigures(storeDir: string, layer: string): TileFigures {
  const store = openSqliteStore(storeDir);
  try {
    const vid = store.getLayer(layer)?.currentVid;
    if (!vid) throw new Error(`${layer} was not published`);
    const f = { tiles: 0, bytes: 0, largest: 0, overBudget: 0 };
    for (const t of store.iterateTiles(vid)) {
      f.tiles++;
      f.bytes += t.gz.length;
      f.largest = Math.max(f.largest, t.gz.length);
      if (t.gz.length > BUDGET) f.overBudget++;
    }
    return f;
  } finally {
    store.close();
  }
}

/** Tile figures of an MBTiles file (tile_data as GDAL wrote it, gzip-compressed MVT). */
function mbtilesFigures(file: string): TileFigures {
  const db = new Database(file, { readonly: true });
  try {
    const row = db.prepare('SELECT count(*) AS tiles, coalesce(sum(length(tile_data)), 0) AS bytes, coalesce(max(length(tile_data)), 0) AS largest, coalesce(sum(length(tile_data) > ?), 0) AS over FROM tiles')
      .get(BUDGET) as { tiles: number; bytes: number; largest: number; over: number };
    return { tiles: row.tiles, bytes: row.bytes, largest: row.largest, overBudget: row.over };
  } finally {
    db.close();
  }
}

/** Writes a one-layer plantiles config in `dir` (storage beside it) and returns its path. */
function writeLayerConfig(dir: string, name: string, layer: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ node: { id: 'bench', title: 'bench' }, storage: { dir: `./${name}-store`, keepVersions: 5 }, layers: [layer] }));
  return file;
}

const hasGdal = spawnSync('ogr2ogr', ['--version'], { encoding: 'utf8' }).status === 0;

/** The farmland runs and the urban-boundary runs, and their Markdown. */
async function runTiling(ctx: BenchContext): Promise<string> {
  const parcels = await ctx.parcels();
  const dir = ctx.workDir;
  const source = path.join(dir, 'tiling-farmland.geojson');
  copyFileSync(parcels.file, source);
  const farmland = { id: 'farmland', source: path.basename(source), idField: 'BSM', minzoom: ZOOMS.min, maxzoom: ZOOMS.max };
  const config = writeLayerConfig(dir, 'tiling', farmland);
  const storeDir = path.join(dir, 'tiling-store');
  ctx.log(`tiling: plantiles full publish of ${parcels.features} parcels, ${RUNS} runs`);
  const full = await publishRepeated(config, 'farmland', () => rmSync(storeDir, { recursive: true, force: true }));
  const fullTiles = storeFigures(storeDir, 'farmland');
  const incremental: Measured['incremental'] = [];
  const before = path.join(dir, 'tiling-store-before');
  const sources = [parcels.file];
  for (const edit of [{ share: 0.01, layout: 'patches', seed: 41 }, { share: 0.01, layout: 'scattered', seed: 42 }] as ParcelEdit[]) {
    const counts = await editParcels(source, source, edit);
    // The edited source as this edit left it, for the server's chain below.
    const edited = path.join(dir, `tiling-farmland-${edit.layout}.geojson`);
    copyFileSync(source, edited);
    sources.push(edited);
    ctx.log(`tiling: plantiles republish after a 1% edit (${edit.layout}), ${RUNS} runs`);
    rmSync(before, { recursive: true, force: true });
    cpSync(storeDir, before, { recursive: true });
    const run = await publishRepeated(config, 'farmland', () => {
      rmSync(storeDir, { recursive: true, force: true });
      cpSync(before, storeDir, { recursive: true });
    });
    incremental.push({
      label: edit.layout === 'patches' ? '1% edit in change patches' : '1% edit scattered', edit: counts, run,
      tiles: storeFigures(storeDir, 'farmland'), changed: changedShare(storeDir, 'farmland'),
    });
  }
  rmSync(before, { recursive: true, force: true });
  const server = await publishInServer(ctx, sources, storeDir, RUNS);
  ctx.log('tiling: naive loop');
  const naive = await runNaive(parcels.file, path.join(dir, 'naive.sqlite'));
  ctx.log('tiling: GDAL ogr2ogr -f MBTILES');
  const gdal = hasGdal ? await runGdal(parcels.file, path.join(dir, 'gdal.mbtiles')) : null;
  const ubound = await runUrbanBoundaries(ctx);
  return render({ parcels: parcels.features, full, fullTiles, incremental, server, naive, gdal, ubound });
}


async function runNaive(file: string, out: string): Promise<Figures> {
  const script = fileURLToPath(new URL('./naive-loop.js', import.meta.url));
  const run = await measure(process.execPath, [script, file, out, String(ZOOMS.min), String(ZOOMS.max), String(BUDGET)]);
  const f = JSON.parse(run.stdout.trim()) as Figures & { peakRssBytes: number };
  return { seconds: run.seconds, peakRss: Math.max(run.peakRss, f.peakRssBytes), load: run.load, tiles: f.tiles, bytes: f.bytes, largest: f.largest, overBudget: f.overBudget };
}

async function runGdal(file: string, out: string): Promise<Figures> {
  const args = ['-f', 'MBTILES', out, file, '-dsco', `MINZOOM=${ZOOMS.min}`, '-dsco', `MAXZOOM=${ZOOMS.max}`];
  const run = await measure('ogr2ogr', args, GDAL_TIMEOUT_MS);
  return { seconds: run.seconds, peakRss: run.peakRss, load: run.load, ...mbtilesFigures(out) };
}

/** The few, very detailed urban-boundary polygons: plantiles, the naive loop and GDAL on the same file. */
async function runUrbanBoundaries(ctx: BenchContext): Promise<{ name: string; f: Figures }[]> {
  const ub = await ctx.urbanBoundaries();
  const dir = ctx.workDir;
  copyFileSync(ub.file, path.join(dir, 'tiling-ubound.geojson'));
  const config = writeLayerConfig(dir, 'ubound', { id: 'ubound', source: 'tiling-ubound.geojson', idField: 'BSM', minzoom: ZOOMS.min, maxzoom: ZOOMS.max });
  ctx.log('tiling: urban boundaries');
  const p = await publishInChild(config, 'ubound');
  const rows = [{ name: 'plantiles full publish', f: { seconds: p.seconds, peakRss: Math.max(p.peakRss, p.vmHwm), load: p.load, ...storeFigures(path.join(dir, 'ubound-store'), 'ubound') } }];
  rows.push({ name: 'naive loop', f: await runNaive(ub.file, path.join(dir, 'naive-ubound.sqlite')) });
  if (hasGdal) rows.push({ name: 'GDAL ogr2ogr MBTILES', f: await runGdal(ub.file, path.join(dir, 'gdal-ubound.mbtiles')) });
  return rows;
}

interface Measured {
  parcels: number;
  full: Repeated;
  fullTiles: TileFigures;
  incremental: { label: string; edit: EditCounts; run: Repeated; tiles: TileFigures; changed: { tiles: number; byteShare: number } }[];
  server: ServerRuns;
  naive: Figures;
  gdal: Figures | null;
  ubound: { name: string; f: Figures }[];
}

const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
const kib = (n: number): string => (n / 1024).toFixed(0);
const row = (name: string, f: Figures): string =>
  `| ${name} | ${f.seconds.toFixed(1)} | ${mib(f.peakRss)} | ${f.tiles} | ${mib(f.bytes)} | ${kib(f.largest)} | ${f.overBudget} | ${f.load.toFixed(1)} |`;
const check = (ok: boolean): string => (ok ? 'met' : '**not met**');

function render(m: Measured): string {
  const full: Figures = { seconds: m.full.seconds, peakRss: m.full.highestRss, load: m.full.load, ...m.fullTiles };
  const inc = m.incremental.map((i) => ({ ...i, f: { seconds: i.run.seconds, peakRss: i.run.highestRss, load: i.run.load, ...i.tiles } }));
  const times = (r: Repeated): string => r.runs.map((t) => t.toFixed(1)).join(', ');
  const vsNaive = full.seconds / m.naive.seconds;
  const vsGdal = m.gdal ? full.seconds / m.gdal.seconds : null;
  const lines = [
    '## Tiling',
    '',
    `${m.parcels} seeded farmland parcels (5–40 vertices, BSM/DLBM/DLMC/TBMJ/XZQDM, over Liaocheng's extent, GeoJSON in EPSG:4326), z${ZOOMS.min}–z${ZOOMS.max}, each tool in a child process on the same file. Wall time from spawn to exit; peak RSS is the child's high-water mark (VmHWM, polled, and getrusage for Node children). Each plantiles publish runs ${RUNS} times (a full publish into an empty store, a republish from a copy of the store as the edit found it): its row is the run of median wall time, with the highest peak RSS of the ${RUNS}; the naive loop and GDAL run once. plantiles publishes with its defaults (tolerance 3, buffer 64, budget 500 KiB gzipped, drop: smallest, every attribute at every zoom, one worker per core) into a versioned store, validating, budgeting and hashing every tile; the naive loop (\`bench/naive-loop.ts\`) parses the file, builds one geojson-vt index, walks the pyramid, encodes with vt-pbf, gzips and inserts each tile; GDAL is \`ogr2ogr -f MBTILES -dsco MINZOOM=${ZOOMS.min} -dsco MAXZOOM=${ZOOMS.max}\`. "Load at start" is the machine's 1-minute load average as each run began: above the ${os.cpus().length} cores, other work was competing for them, which slows a two-thread publish more than a one-thread tool.`,
    '',
    '| run | wall s | peak RSS MiB | tiles | total MiB | largest KiB | tiles over 500 KiB | load at start |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row(`plantiles full publish (median of ${RUNS})`, full),
    ...inc.map((i) => row(`plantiles republish, ${i.label} (median of ${RUNS})`, i.f)),
    row('naive loop (geojson-vt + vt-pbf)', m.naive),
    m.gdal ? row('GDAL ogr2ogr -f MBTILES', m.gdal) : '| GDAL ogr2ogr -f MBTILES | not installed | | | | | | |',
    '',
    '| target | measured | |',
    '| --- | ---: | --- |',
    `| full publish <= 1.0 x naive loop | ${vsNaive.toFixed(2)} x | ${check(vsNaive <= 1)} |`,
    vsGdal === null ? '| full publish <= 0.15 x GDAL | GDAL not installed | |' : `| full publish <= 0.15 x GDAL | ${vsGdal.toFixed(3)} x | ${check(vsGdal <= 0.15)} |`,
    `| full publish peak RSS <= 1 GiB | ${mib(full.peakRss)} MiB | ${check(full.peakRss <= 2 ** 30)} |`,
    `| no tile over budget | ${full.overBudget} | ${check(full.overBudget === 0)} |`,
    ...inc.map((i) => `| republish after ${i.label} <= 0.10 x full | ${(i.f.seconds / full.seconds).toFixed(3)} x | ${check(i.f.seconds / full.seconds <= 0.1)} |`),
    '',
    `The runs, in seconds: full publish ${times(m.full)}; ${m.incremental.map((i) => `republish after the ${i.label} ${times(i.run)}`).join('; ')}.`,
    '',
    'Where plantiles spends its time (seconds per stage; tiles cut and changed; source records taken from the ingest memo instead of read again; features of the cut tiles read back from the previous version\'s tiles instead of cut again):',
    '',
    '| run | ingest s | tile s | commit s | CPU s | mode | tiles cut | tiles changed | records recalled | features read back | features added/removed/changed/reordered |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
    stageRow('full publish', m.full),
    ...m.incremental.map((i) => stageRow(i.label, i.run)),
    '',
    ...m.incremental.map((i) => `The ${i.label}: ${i.edit.reshaped} reshaped, ${i.edit.moved} moved, ${i.edit.attributes} with a changed attribute, ${i.edit.deleted} deleted and replaced by new parcels. The ${i.changed.tiles} tiles it changed hold ${(100 * i.changed.byteShare).toFixed(0)}% of the new version's plain tile bytes: every incremental method must encode and compress those again.`),
    '',
    'The edits follow one another: the second is made to the source as the first left it. After a small edit the ingest memo is kept as it was (it is written anew once more than 5% of the records have changed), so the second republish reads again the records the first edit changed as well as its own.',
    '',
    ...serverLines(m),
    '### Urban boundaries',
    '',
    '12 urban development boundaries of 20,000 vertices each, same zooms and tools:',
    '',
    '| run | wall s | peak RSS MiB | tiles | total MiB | largest KiB | tiles over 500 KiB | load at start |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...m.ubound.map((u) => row(u.name, u.f)),
    '',
  ];
  return lines.join('\n');
}

/** The same publishes as jobs of a running server. */
function serverLines(m: Measured): string[] {
  const s = m.server;
  const chains = s.chains.map((c) => [c.full, ...c.republish].map((t) => t.toFixed(1)).join(', ')).join('; ');
  return [
    '### In a running server',
    '',
    `The same publishes, as an administrator or the scheduler makes them: jobs of a running \`plantiles serve\` (POST /admin/layers/farmland/publish; each timed from the job's start to its end by the server's clock, its \`startedAt\` and \`finishedAt\`, the end being the commit that makes the version current, with a poller asking every ${POLL_MS} ms), the full publish into an empty store and then the republish after each edit, in one server process. Its publish jobs tile with one thread per core at nice 0, as the CLI does (\`schedule.tilingThreads\`, \`schedule.nice\`); they keep their tiling threads from one job to the next, so the republishes find them warm, where each CLI publish is a new process. ${RUNS} chains, each in a fresh server; per step the median. The server's tiles equal the CLI's, tile for tile.`,
    '',
    '| job | wall s | / full publish job | target |',
    '| --- | ---: | ---: | --- |',
    `| full publish | ${s.full.toFixed(1)} | | |`,
    ...m.incremental.map((i, k) => {
      const r = (s.republish[k] ?? 0) / s.full;
      return `| republish after the ${i.label} | ${(s.republish[k] ?? 0).toFixed(1)} | ${r.toFixed(3)} x | <= 0.10 x: ${check(r <= 0.1)} |`;
    }),
    '',
    `The chains, in seconds (full publish, then each republish): ${chains}. Peak RSS of the server over a chain: ${mib(s.peakRss)} MiB.`,
    '',
  ];
}

function stageRow(label: string, p: PublishFigures): string {
  const c = p.featureChanges;
  const changes = c ? `${c.added}/${c.removed}/${c.changed}/${c.reordered}` : '—';
  const s = (k: PublishStage): string => (p.stages[k] ?? 0).toFixed(1);
  return `| ${label} | ${s('ingest')} | ${s('tile')} | ${s('commit')} | ${p.cpuSeconds.toFixed(1)} | ${p.mode} | ${p.recomputedTiles} | ${p.changedTiles} | ${p.recalledFeatures} | ${p.reusedFeatures} | ${changes} |`;
}

/**
 * Tiling: plantiles' full publish and incremental republish against the naive loop and
 * GDAL on the seeded farmland layer (and the urban boundaries), z0–z14.
 */
export const tilingBench: BenchSection = { name: 'tiling', run: runTiling };


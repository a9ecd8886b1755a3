import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { installTileserver, tileserverArgs } from './peers/tileserver-gl.js';
import type { BenchContext, BenchSection } from './section.js';
import {
  BARE_SERVER, BENCH_ADMIN_TOKEN_ENV, CLI_MAIN, JOB_LAYERS, pickTiles, PUBLISH_NICE, PUBLISH_POLICY, publishContinuously, publishJobsContinuously, PUBLISHED_LAYER, PUBLISHED_LAYERS, runCli, SERVED_LAYER, SERVED_ZOOMS, tileStats, writeServingConfig, writeStaticTiles, type Xyz,
} from './serving-data.js';
import { proxyConf, startNginx, staticConf } from './serving-nginx.js';
import { autogroupOf, threadNicesOf, threadPoliciesOf } from './serving-machine.js';
import { LOAD, measure, measurePaired, median, WARMUP, type Paired, type Row, type Target } from './serving-measure.js';
import { freePort, startProcess, waitForHttp, type BenchProcess } from './serving-procs.js';

const ZOOMS = [12, 14];
const TILE_COUNT = 4000;
/**
 * Interleaved rounds of (a) and (b), and of (d) and (e): their ratios sit near their targets, one pair
 * of runs differs from the next by several per cent, and one run's p99 can take a pause of the
 * virtual machine (hypervisor steal) that the next does not see.
 */
const ROUNDS = Number(process.env.BENCH_SERVING_ROUNDS ?? 5);
/** The paired comparisons, idle and under a publish, as the figures table names them. */
const AB = '(a) / (b): plantiles vs bare Node';
const ED = '(e) / (d): nginx cache over plantiles vs nginx static';
const AB_BUSY = '(a) while publishing / (b) while publishing (both under the same publish)';
const ED_BUSY = '(e) while publishing / (d) while publishing (both under the same publish)';
const AB_JOB = '(a) while its own publish job runs / (b) under that job';
/** The admin token (a) is started with, to publish through its own job system. */
const JOB_TOKEN = 'serving-bench-job-token';

/** `npm run bench -- serving`: plantiles against a bare Node server, tileserver-gl-light and nginx, on the same tiles. */
export const servingBench: BenchSection = { name: 'serving', run: runServingBench };

async function runServingBench(ctx: BenchContext): Promise<string> {
  const parcels = await ctx.parcels();
  const dir = path.join(ctx.workDir, 'serving');
  mkdirSync(dir, { recursive: true });
  const config = writeServingConfig(dir, parcels.file, [...PUBLISHED_LAYERS, ...JOB_LAYERS]);
  ctx.log(`serving: publishing ${SERVED_LAYER} (${parcels.features} parcels, z${SERVED_ZOOMS.minzoom}–z${SERVED_ZOOMS.maxzoom})`);
  const publishSeconds = runCli(config, ['publish', SERVED_LAYER]);
  const mbtiles = path.join(dir, `${SERVED_LAYER}.mbtiles`);
  const exportSeconds = runCli(config, ['export', SERVED_LAYER, mbtiles, '--force']);
  const pmtilesSeconds = runCli(config, ['export', SERVED_LAYER, path.join(dir, `${SERVED_LAYER}.pmtiles`), '--force']);
  const tiles = pickTiles(mbtiles, ZOOMS, TILE_COUNT);
  const staticCount = writeStaticTiles(mbtiles, path.join(dir, 'static', SERVED_LAYER));
  const processes: BenchProcess[] = [];
  const rows: Row[] = [];
  const pairs: { label: string; paired: Paired }[] = [];
  const notes: string[] = [];
  try {
    const targets = await startTargets(ctx, dir, config, mbtiles, tiles[0] as Xyz, processes, notes);
    await checkSameTiles(targets, tiles[0] as Xyz);
    const pick = (key: string): Target => targets.find((t) => t.key === key) as Target;
    const [a, b, d, e] = [pick('a'), pick('b'), pick('d'), pick('e')];
    ctx.log(`serving: (a) and (b) in ${ROUNDS} interleaved rounds`);
    const nodes = await measurePaired(dir, a, b, tiles, ROUNDS);
    rows.push(nodes.rows[0], nodes.rows[1]);
    pairs.push({ label: AB, paired: nodes });
    const c = targets.find((t) => t.key === 'c');
    if (c) {
      ctx.log(`serving: load on ${c.label}`);
      rows.push(await measure(dir, c, tiles));
    }
    ctx.log(`serving: (e) and (d) in ${ROUNDS} interleaved rounds`);
    const caches = await measurePaired(dir, e, d, tiles, ROUNDS);
    rows.push(caches.rows[1], caches.rows[0]);
    pairs.push({ label: ED, paired: caches });
    ctx.log(`serving: publishing ${PUBLISHED_LAYER} and more layers in other processes while measuring`);
    const busy = await measureWhilePublishing(dir, config, { a, b, d, e }, tiles, processes.find((p) => p.name === 'plantiles-a')?.child.pid, parcels.features);
    rows.push(...busy.rows);
    pairs.push({ label: AB_BUSY, paired: busy.nodes }, { label: ED_BUSY, paired: busy.caches });
    notes.push(...busy.notes);
    ctx.log('serving: (a) publishing new layers as jobs of its own while measuring');
    const job = await measureDuringJobs(dir, { a, b }, tiles, parcels.features);
    rows.push(...job.rows);
    pairs.push({ label: AB_JOB, paired: job.nodes });
    notes.push(...job.notes);
  } finally {
    for (const p of processes.reverse()) await p.stop();
  }
  return render({ parcels: parcels.features, publishSeconds, exportSeconds, pmtilesSeconds, mbtiles, staticCount, tiles, rows, pairs, notes });
}

/**
 * (a) and (b), then (e) and (d), each pair in interleaved rounds as when idle, while other
 * layers are published one after another by separate CLI processes (so a publish runs
 * through every run; one publish ended partway through the rounds before). Each server is
 * set against its peer under the same load.
 */
async function measureWhilePublishing(dir: string, config: string, t: { a: Target; b: Target; d: Target; e: Target }, tiles: readonly Xyz[], serverPid: number | undefined, parcels: number): Promise<{ rows: Row[]; nodes: Paired; caches: Paired; notes: string[] }> {
  const publish = publishContinuously(config, PUBLISHED_LAYERS, dir);
  try {
    await publish.started;
    const notes = [describePublisher(publish.pid(), serverPid)];
    const goOn = (): boolean => publish.running();
    const nodes = await measurePaired(dir, t.a, t.b, tiles, ROUNDS, goOn);
    const caches = await measurePaired(dir, t.e, t.d, tiles, ROUNDS, goOn);
    const rows = [asPublishing(nodes.rows[0], t.a), asPublishing(nodes.rows[1], t.b), asPublishing(caches.rows[1], t.d), asPublishing(caches.rows[0], t.e)];
    const what = `${publish.count()} full publishes of new layers (${parcels} parcels each, one after another, each a separate \`plantiles publish\` process at nice ${PUBLISH_NICE}${PUBLISH_POLICY === 'idle' ? ' under SCHED_IDLE' : ''})`;
    notes.push(publish.running()
      ? `A publish ran through every "while publishing" run: ${what}.`
      : `The background publishes ran out before the last run ended (after ${nodes.ratios.length} of ${ROUNDS} rounds of (a) and (b), ${caches.ratios.length} of (e) and (d)): ${what}.`);
    return { rows, nodes, caches, notes };
  } finally {
    await publish.stop();
  }
}

/**
 * (a) and (b) in interleaved rounds while (a) publishes new layers, one after another, as
 * jobs of its own (its default: the job runs in a publish thread at nice 19, which on two
 * cores also cuts the tiles; see docs/operations.md) — what an administrator's publish or a
 * scheduled one does to the server that runs it. (b) is measured under the same job.
 */
async function measureDuringJobs(dir: string, t: { a: Target; b: Target }, tiles: readonly Xyz[], parcels: number): Promise<{ rows: Row[]; nodes: Paired; notes: string[] }> {
  const jobs = publishJobsContinuously(t.a.base, JOB_TOKEN, JOB_LAYERS);
  try {
    await jobs.started;
    const nodes = await measurePaired(dir, t.a, t.b, tiles, ROUNDS, () => jobs.running());
    const rows = [
      // (a)'s process CPU here includes its own publish: not a serving figure.
      { ...nodes.rows[0], key: 'a+job', label: `${t.a.label}, while it runs a publish job`, cpuUs: null },
      { ...nodes.rows[1], key: 'b+job', label: `${t.b.label}, while (a) runs a publish job` },
    ];
    const took = jobs.durations.length ? `; each took ${jobs.durations.map((d) => d.toFixed(1)).join(', ')} s` : '';
    const what = `publish jobs of new layers in (a) (${parcels} parcels each, one after another${took})`;
    const notes = [jobs.running()
      ? `A publish job ran in (a) through every "while it runs a publish job" run: ${what}.`
      : `The publish jobs ran out before the last run ended (after ${nodes.ratios.length} of ${ROUNDS} rounds): ${what}.`];
    return { rows, nodes, notes };
  } finally {
    await jobs.stop();
  }
}

/** A row measured while the background publish ran, keyed `{key}+publish`. */
function asPublishing(row: Row, t: Target): Row {
  return { ...row, key: `${t.key}+publish`, label: `${t.label}, while publishing` };
}

/** Where the background publisher runs relative to the measured server: nice only counts within one autogroup. */
function describePublisher(publisher: number | undefined, server: number | undefined): string {
  if (publisher === undefined || server === undefined) return 'The background publisher\'s priority could not be checked.';
  const [pg, sg] = [autogroupOf(publisher), autogroupOf(server)];
  const nices = threadNicesOf(publisher);
  const policies = threadPoliciesOf(publisher);
  const group = pg === null || sg === null ? 'autogroups unknown' : pg === sg ? `the same scheduler autogroup as the server (${pg})` : `**another** scheduler autogroup (${pg}) than the server (${sg}), so its nice level does not yield to it`;
  return `The background publisher's threads ran at nice ${nices.join(', ') || '?'} under ${policies.join(', ') || '?'}, in ${group}.`;
}

/** Starts every server, each on its own loopback port; peers that cannot run are left out with a note. */
async function startTargets(ctx: BenchContext, dir: string, config: string, mbtiles: string, first: Xyz, procs: BenchProcess[], notes: string[]): Promise<Target[]> {
  const [pa, pa2, pb, pc, pd, pe] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]) as [number, number, number, number, number, number];
  const plantiles = (port: number, name: string, env: Record<string, string> = {}): BenchProcess =>
    startProcess(name, process.execPath, [CLI_MAIN, '--config', config, 'serve'], path.join(dir, `${name}.log`), { ...process.env, PORT: String(port), ...env });
  procs.push(plantiles(pa, 'plantiles-a', { [BENCH_ADMIN_TOKEN_ENV]: JOB_TOKEN }), plantiles(pa2, 'plantiles-b'));
  procs.push(startProcess('bare', process.execPath, [BARE_SERVER, mbtiles, String(pb)], path.join(dir, 'bare.log')));
  procs.push(startNginx('nginx-static', path.join(dir, 'nginx-static'), staticConf(path.join(dir, 'nginx-static'), pd, path.join(dir, 'static'))));
  procs.push(startNginx('nginx-proxy', path.join(dir, 'nginx-proxy'), proxyConf(path.join(dir, 'nginx-proxy'), pe, [pa, pa2])));
  const pidOf = (name: string): number | undefined => procs.find((p) => p.name === name)?.child.pid;
  const versioned = (t: Xyz): string => `/tiles/${SERVED_LAYER}@1.0.0/${t.z}/${t.x}/${t.y}.mvt`;
  const targets: Target[] = [
    { key: 'a', label: '(a) plantiles, 1 process', base: `http://127.0.0.1:${pa}`, path: versioned, pid: pidOf('plantiles-a'), plantiles: true },
    { key: 'b', label: '(b) bare Node http + one better-sqlite3 statement', base: `http://127.0.0.1:${pb}`, path: (t) => `/${t.z}/${t.x}/${t.y}.mvt`, pid: pidOf('bare') },
  ];
  const tileserver = installTileserver(ctx.log);
  if ('main' in tileserver) {
    procs.push(startProcess('tileserver-gl-light', process.execPath, tileserverArgs(tileserver.main, mbtiles, SERVED_LAYER, pc, path.join(dir, 'tileserver')), path.join(dir, 'tileserver.log')));
    targets.push({ key: 'c', label: '(c) tileserver-gl-light 5.6.0', base: `http://127.0.0.1:${pc}`, path: (t) => `/data/${SERVED_LAYER}/${t.z}/${t.x}/${t.y}.pbf`, pid: pidOf('tileserver-gl-light') });
  } else {
    notes.push(`(c) tileserver-gl-light skipped: ${tileserver.skipped}`);
  }
  targets.push(
    { key: 'd', label: '(d) nginx, static files', base: `http://127.0.0.1:${pd}`, path: (t) => `/${SERVED_LAYER}/${t.z}/${t.x}/${t.y}.mvt` },
    { key: 'e', label: '(e) nginx proxy_cache (docs/deploy) → 2 plantiles, warm', base: `http://127.0.0.1:${pe}`, path: versioned },
  );
  await Promise.all([
    waitForHttp('plantiles-a', `http://127.0.0.1:${pa}/healthz`), waitForHttp('plantiles-b', `http://127.0.0.1:${pa2}/healthz`),
    ...targets.map((t) => waitForHttp(t.label, t.base + t.path(first), 200, 120_000)),
  ]);
  return targets;
}

/** Every server must answer the same tile with the same MVT bytes (after gzip), or the comparison means nothing. */
async function checkSameTiles(targets: readonly Target[], tile: Xyz): Promise<void> {
  let reference: Buffer | null = null;
  for (const t of targets) {
    const res = await fetch(t.base + t.path(tile), { headers: { 'accept-encoding': 'gzip' } });
    const body = Buffer.from(await res.arrayBuffer());
    const plain = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
    if (res.status !== 200) throw new Error(`${t.label}: ${t.path(tile)} answered ${res.status}`);
    reference ??= plain;
    if (!plain.equals(reference)) throw new Error(`${t.label} serves different bytes for ${t.path(tile)}`);
  }
}

/** What else happened on the machine during the runs: plantiles' event-loop delay, other sessions' CPU, steal. */
function machineNotes(rows: readonly Row[]): string[] {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const notes = rows.filter((x) => x.loopDelay).map((x) =>
    `${x.label}: event-loop delay p99 ${x.loopDelay?.p99.toFixed(1)} ms, max ${x.loopDelay?.max.toFixed(1)} ms (prom-client's 10 ms-resolution monitor${x.rounds > 1 ? `; medians of ${x.rounds} rounds` : ''}) against a wrk p99 of ${x.p99ms.toFixed(1)} ms.`);
  const busy = rows.filter((x) => x.otherShare >= 0.05 || x.stealShare >= 0.05);
  if (busy.length) {
    notes.push(`Not alone on the machine: ${busy.map((x) => `${x.label.split(' ')[0]}${x.key.endsWith('+publish') ? ' while publishing' : x.key.endsWith('+job') ? ' during the job' : ''} (other sessions ${pct(x.otherShare)}, steal ${pct(x.stealShare)})`).join('; ')}.`);
  } else {
    notes.push('Other sessions used under 5% of the CPU, and the hypervisor withheld (steal) under 5%, during every run.');
  }
  return notes;
}

interface Report {
  parcels: number; publishSeconds: number; exportSeconds: number; pmtilesSeconds: number; mbtiles: string;
  staticCount: number; tiles: readonly Xyz[]; rows: readonly Row[]; pairs: readonly { label: string; paired: Paired }[]; notes: readonly string[];
}

function render(r: Report): string {
  const row = (key: string): Row | undefined => r.rows.find((x) => x.key === key);
  const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  /** Two decimals, or three where two would round a ratio onto the other side of its target. */
  const digits = (x: number, target: number): number => ((Math.round(x * 100) / 100 >= target) === (x >= target) ? 2 : 3);
  const range = (xs: readonly number[], d: number): string => (xs.length > 1 ? ` (rounds ${f(Math.min(...xs), d)}–${f(Math.max(...xs), d)})` : '');
  const stats = tileStats(r.mbtiles, ZOOMS);
  const lines = [
    '## Serving',
    '',
    `${f(r.parcels)} synthetic parcels published as one layer at z${SERVED_ZOOMS.minzoom}–z${SERVED_ZOOMS.maxzoom} (the demo's farmland range) in ${f(r.publishSeconds, 1)} s, exported to MBTiles in ${f(r.exportSeconds, 1)} s`,
    `(${f(statSync(r.mbtiles).size / 2 ** 20, 1)} MiB, ${f(r.staticCount)} tiles) and to PMTiles in ${f(r.pmtilesSeconds, 1)} s. Every server serves those tiles:`,
    `plantiles from its store, the bare server and tileserver-gl-light from the MBTiles file, nginx from the tiles written out as files.`,
    `Load: \`wrk -t${LOAD.threads} -c${LOAD.connections} -d${LOAD.seconds}s\` (after a ${WARMUP.seconds} s warm-up) in a separate process on the same machine,`,
    `over a fixed seeded random list of ${f(r.tiles.length)} existing z12 and z14 tiles (of ${f(stats.tiles)}; mean ${f(stats.meanBytes / 1024, 1)} KiB gzip), \`Accept-Encoding: gzip\`.`,
    'Each run starts once other sessions on the machine are quiet (or after a minute). "CPU µs/req" is the CPU time of the server process',
    '(all its threads) per request served, where the server is one process. (a) and (b) run in interleaved rounds (b, a, then a, b, …),',
    'and so do (d) and (e) (d, e, then e, d, …), with one warm-up each; (c) runs once. A row marked "median of N" gives the median of each',
    'figure over its rounds (its p99 is the median of the rounds\' p99s), and a ratio marked "median of N rounds" is the median of the',
    'rounds\' ratios (each round\'s two runs back to back), with their range; other ratios divide the rows\' figures.',
    '',
    '| server | req/s | p50 ms | p99 ms | MiB/s | CPU µs/req |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map((x) => `| ${x.label}${x.rounds > 1 ? ` (median of ${x.rounds})` : ''} | ${f(x.rps)} | ${f(x.p50ms, 2)} | ${f(x.p99ms, 2)} | ${f(x.megabytesPerSecond, 1)} | ${x.cpuUs === null ? '–' : f(x.cpuUs)} |`),
    '',
    '| figure | measured | target |',
    '| --- | ---: | --- |',
  ];
  const ratio = (label: string, a: string, b: string, target: number): void => {
    const x = row(a);
    const y = row(b);
    if (x && y) lines.push(`| ${label} | ${f(x.rps / y.rps, digits(x.rps / y.rps, target))}× | ≥ ${target}× ${x.rps / y.rps >= target ? '(met)' : '(**missed**)'} |`);
  };
  /** The p99 of row `key`, with the range of its rounds' p99s when it ran in the rounds of pair `pair` (as numerator). */
  const p99 = (label: string, key: string, pair: string): void => {
    const x = row(key);
    if (!x) return;
    const runs = r.pairs.find((p) => p.label === pair)?.paired.runs[0] ?? [];
    const rounds = x.rounds > 1 ? `, median of ${x.rounds} rounds` : '';
    lines.push(`| ${label}${rounds} | ${f(x.p99ms, 2)} ms${range(runs.map((y) => y.p99ms), 1)} | ≤ 25 ms ${x.p99ms <= 25 ? '(met)' : '(**missed**)'} |`);
  };
  const paired = (label: string, target: number): void => {
    const ratios = r.pairs.find((x) => x.label === label)?.paired.ratios ?? [];
    if (!ratios.length) return;
    const m = median(ratios);
    lines.push(`| ${label}, median of ${ratios.length} round${ratios.length > 1 ? 's' : ''} | ${f(m, digits(m, target))}×${range(ratios, 2)} | ≥ ${target}× ${m >= target ? '(met)' : '(**missed**)'} |`);
  };
  paired(AB, 0.8);
  ratio('(a) / (c): plantiles vs tileserver-gl-light', 'a', 'c', 5);
  p99('(a) p99', 'a', AB);
  paired(ED, 0.8);
  ratio('(a) while publishing / (b)', 'a+publish', 'b', 0.8);
  paired(AB_BUSY, 0.8);
  ratio('(a) while publishing / (c)', 'a+publish', 'c', 5);
  p99('(a) while publishing, p99', 'a+publish', AB_BUSY);
  ratio('(e) while publishing / (d)', 'e+publish', 'd', 0.8);
  paired(ED_BUSY, 0.8);
  ratio('(a) while its own publish job runs / (b)', 'a+job', 'b', 0.8);
  paired(AB_JOB, 0.8);
  p99('(a) while its own publish job runs, p99', 'a+job', AB_JOB);
  const notes = [...r.notes, ...machineNotes(r.rows)];
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

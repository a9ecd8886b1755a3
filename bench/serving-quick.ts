import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateParcels } from './generate-parcels.js';
import {
  BARE_SERVER, BENCH_ADMIN_TOKEN_ENV, CLI_MAIN, pickTiles, publishInBackground, runCli, SERVED_LAYER, writeServingConfig, type Xyz,
} from './serving-data.js';
import { autogroupOf, cpuTicksOf, threadNicesOf, threadPoliciesOf, waitForQuiet } from './serving-machine.js';
import { freePort, startProcess, waitForHttp, type BenchProcess } from './serving-procs.js';
import { runWrk, writeWrkScript, type WrkOptions, type WrkResult } from './serving-wrk.js';

/**
 * A short serving comparison for iterating on the fast path: one or more plantiles
 * builds against the bare Node server (b), in rotating order so drift hits all alike,
 * each run after other sessions went quiet. Besides req/s and latency it reports the
 * server's CPU time per request, which contention on a shared machine disturbs less.
 * The data (store and MBTiles) is kept in QUICK_DIR between runs.
 *
 *   node dist/bench/serving-quick.js [rounds] [--publish | --job]
 *
 * Environment: QUICK_TARGETS — plantiles builds to compare, `name=distDir[:VAR=value…]`
 * separated by spaces (default `a=` this build); QUICK_DIR (default
 * $TMPDIR/plantiles-serving-quick); BENCH_PARCELS (200,000); QUICK_SECONDS (10 per run);
 * QUICK_NODE_ARGS (extra node flags for the plantiles processes, e.g. --cpu-prof).
 * --publish: a `plantiles publish` of a new layer runs in the background (at nice 19 as in
 * the full benchmark; BENCH_PUBLISH_POLICY=idle adds SCHED_IDLE) during a second set of
 * rounds; --job: the first target publishes it as a job of its own, through its admin API.
 */
const ZOOMS = [12, 14];
const TILE_COUNT = 4000;
const TOKEN = 'serving-quick-token';
/** A layer never published before, so a publish while measuring does the whole work. */
const NEXT_LAYER = `next-${Date.now().toString(36)}`;

interface Target { name: string; base: string; path: (t: Xyz) => string; proc: BenchProcess }

async function main(): Promise<void> {
  const rounds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 2);
  const dir = process.env.QUICK_DIR ?? path.join(os.tmpdir(), 'plantiles-serving-quick');
  const load: WrkOptions = { seconds: Number(process.env.QUICK_SECONDS ?? 10), connections: 64, threads: 2 };
  const { config, mbtiles } = await prepare(dir);
  const tiles = pickTiles(mbtiles, ZOOMS, TILE_COUNT);
  const targets = await startTargets(dir, config, mbtiles);
  try {
    await Promise.all(targets.map((t) => waitForHttp(t.name, t.base + t.path(tiles[0] as Xyz), 200, 120_000)));
    for (const t of targets) {
      writeWrkScript(path.join(dir, `wrk-${t.name}.lua`), tiles.map(t.path));
      await runWrk(t.base, path.join(dir, `wrk-${t.name}.lua`), { ...load, seconds: 3 });
    }
    const measure = (label: string): Promise<void> => measureRounds(label, dir, targets, rounds, load);
    await measure('idle');
    if (process.argv.includes('--publish')) {
      const publish = publishInBackground(config, NEXT_LAYER, path.join(dir, 'publish-next.log'));
      await publish.started;
      const server = targets[0]?.proc.child.pid;
      if (publish.pid !== undefined && server !== undefined) {
        console.log(`publisher threads at nice ${threadNicesOf(publish.pid).join(',')} under ${threadPoliciesOf(publish.pid).join(',')}, ${autogroupOf(publish.pid)} (server ${autogroupOf(server)})`);
      }
      await measure('publishing');
      publish.stop();
      console.log(`publish exited with ${await publish.done}`);
    } else if (process.argv.includes('--job')) {
      await measureDuringJob(targets[0] as Target, () => measure('job'));
    }
  } finally {
    for (const t of [...targets].reverse()) await t.proc.stop();
  }
}

/** The plantiles builds of QUICK_TARGETS and the bare server, each on its own port. */
async function startTargets(dir: string, config: string, mbtiles: string): Promise<Target[]> {
  const specs = (process.env.QUICK_TARGETS ?? 'a=').split(' ').filter((s) => s);
  const extraArgs = (process.env.QUICK_NODE_ARGS ?? '').split(' ').filter((a) => a);
  const targets: Target[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const [distDir = '', ...vars] = (eq < 0 ? '' : spec.slice(eq + 1)).split(':');
    const main = distDir ? path.resolve(distDir, 'src/cli/main.js') : CLI_MAIN;
    const port = await freePort();
    const env = { ...process.env, PORT: String(port), [BENCH_ADMIN_TOKEN_ENV]: TOKEN, ...Object.fromEntries(vars.map((v) => v.split('=', 2))) };
    const proc = startProcess(name, process.execPath, [...extraArgs, main, '--config', config, 'serve'], path.join(dir, `${name}.log`), env);
    targets.push({ name, base: `http://127.0.0.1:${port}`, path: (t) => `/tiles/${SERVED_LAYER}@1.0.0/${t.z}/${t.x}/${t.y}.mvt`, proc });
  }
  const port = await freePort();
  const proc = startProcess('bare', process.execPath, [BARE_SERVER, mbtiles, String(port)], path.join(dir, 'bare.log'));
  targets.push({ name: 'b', base: `http://127.0.0.1:${port}`, path: (t) => `/${t.z}/${t.x}/${t.y}.mvt`, proc });
  return targets;
}

/** `rounds` runs of every target, in an order that rotates each round; prints each run and the medians. */
async function measureRounds(label: string, dir: string, targets: readonly Target[], rounds: number, load: WrkOptions): Promise<void> {
  const runs = new Map<string, { r: WrkResult; cpuUs: number }[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < rounds; i++) {
    const order = targets.map((_, j) => targets[(i + j) % targets.length] as Target);
    for (const t of order) {
      const noise = await waitForQuiet();
      if (noise >= 0.05) console.log(`(other sessions still used ${(noise * 100).toFixed(0)}% of the CPU after a minute's wait)`);
      const pid = t.proc.child.pid ?? 0;
      const before = cpuTicksOf(pid);
      const r = await runWrk(t.base, path.join(dir, `wrk-${t.name}.lua`), load);
      const cpuUs = (cpuTicksOf(pid) - before) * 1e4 / r.requests;
      runs.get(t.name)?.push({ r, cpuUs });
      console.log(`${label} ${t.name} round ${i + 1}: ${r.rps.toFixed(0)} req/s p50 ${r.p50ms.toFixed(2)} ms p99 ${r.p99ms.toFixed(2)} ms, server CPU ${cpuUs.toFixed(1)} µs/req, errors ${r.errors}`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
  const of = (name: string, f: (x: { r: WrkResult; cpuUs: number }) => number): number => median((runs.get(name) ?? []).map(f));
  const bare = { rps: of('b', (x) => x.r.rps), cpu: of('b', (x) => x.cpuUs) };
  for (const t of targets) {
    const rps = of(t.name, (x) => x.r.rps);
    const cpu = of(t.name, (x) => x.cpuUs);
    console.log(`${label} median ${t.name}: ${rps.toFixed(0)} req/s (${(rps / bare.rps).toFixed(3)} of b), p99 ${of(t.name, (x) => x.r.p99ms).toFixed(2)} ms, `
      + `${cpu.toFixed(1)} µs/req (b/${t.name} ${(bare.cpu / cpu).toFixed(3)})`);
  }
}

/** Starts a publish job of NEXT_LAYER in `target` and measures once it tiles. */
async function measureDuringJob(target: Target, measure: () => Promise<void>): Promise<void> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  const res = await fetch(`${target.base}/admin/layers/${NEXT_LAYER}/publish`, { method: 'POST', headers });
  const job = (await res.json()) as { id: number };
  const state = async (): Promise<{ state: string; stage: string | null; progress: number }> =>
    (await fetch(`${target.base}/admin/jobs/${job.id}`, { headers })).json() as Promise<{ state: string; stage: string | null; progress: number }>;
  for (let s = await state(); s.stage !== 'tile' && (s.state === 'queued' || s.state === 'running'); s = await state()) await new Promise((r) => setTimeout(r, 200));
  await measure();
  const end = await state();
  console.log(`job ${job.id} of ${target.name}: ${end.state} at ${end.stage} ${end.progress}`);
}

/** The served store and its MBTiles export, made once per QUICK_DIR. */
async function prepare(dir: string): Promise<{ config: string; mbtiles: string }> {
  mkdirSync(dir, { recursive: true });
  const mbtiles = path.join(dir, `${SERVED_LAYER}.mbtiles`);
  const source = path.join(dir, 'parcels.geojson');
  const config = writeServingConfig(dir, source, [NEXT_LAYER]);
  if (existsSync(mbtiles)) return { config, mbtiles };
  const count = Number(process.env.BENCH_PARCELS ?? 200_000);
  console.log(`preparing ${dir}: ${count} parcels, publish, export`);
  await generateParcels(source, count);
  runCli(config, ['publish', SERVED_LAYER]);
  runCli(config, ['export', SERVED_LAYER, mbtiles, '--force']);
  return { config, mbtiles };
}

await main();

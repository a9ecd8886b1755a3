import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Xyz } from './serving-data.js';
import { cpuTicksOf, machineTicks, ticksBetween, ticksOfOtherSessions, waitForQuiet } from './serving-machine.js';
import { runWrk, writeWrkScript, type WrkOptions, type WrkResult } from './serving-wrk.js';

/** The measured load run, and the warm-up before it. */
export const LOAD: WrkOptions = { seconds: Number(process.env.BENCH_SERVING_SECONDS ?? 10), connections: 64, threads: 2 };
export const WARMUP: WrkOptions = { seconds: 3, connections: 64, threads: 2 };

/** One server under test: how its tile URLs look, where it listens, and its process when it is one. */
export interface Target {
  key: string;
  label: string;
  base: string;
  path: (t: Xyz) => string;
  pid?: number | undefined;
  /** It exposes plantiles' /metrics (event-loop delay). */
  plantiles?: boolean;
}

/** What one server measured; for a paired comparison, the median of its rounds. */
export interface Row extends WrkResult {
  key: string;
  label: string;
  /** CPU time of the server process per request, µs (single-process servers only). */
  cpuUs: number | null;
  /** Share of the machine's CPU other sessions used, and the hypervisor withheld (steal), during the run (the largest of its rounds). */
  otherShare: number;
  stealShare: number;
  /** plantiles' event-loop delay during the run, ms (for several rounds, the median of each figure). */
  loopDelay: { p99: number; max: number } | null;
  /** How many interleaved rounds the figures are the median of (1: a single run). */
  rounds: number;
}

/** Two servers compared over interleaved rounds: each one's median figures, and the ratio of each round. */
export interface Paired {
  /** The numerator's and the denominator's median rows. */
  rows: [Row, Row];
  /** numerator req/s ÷ denominator req/s, one per round (runs next to each other in time). */
  ratios: number[];
  /** Every run of the numerator and of the denominator, in round order. */
  runs: [Row[], Row[]];
}

/**
 * Warm-up (unless `warm` is false), then the measured run, over the same fixed list of tiles,
 * once other sessions on the machine are quiet (waiting at most a minute); records what else
 * used the CPU.
 */
export async function measure(dir: string, t: Target, tiles: readonly Xyz[], warm = true): Promise<Row> {
  const script = path.join(dir, `wrk-${t.key}.lua`);
  writeWrkScript(script, tiles.map(t.path));
  if (warm) await runWrk(t.base, script, WARMUP);
  await waitForQuiet();
  if (t.plantiles) await eventLoopDelay(t.base);
  const before = { cpu: t.pid ? cpuTicksOf(t.pid) : 0, machine: machineTicks(), others: ticksOfOtherSessions() };
  const r = await runWrk(t.base, script, LOAD);
  const after = { cpu: t.pid ? cpuTicksOf(t.pid) : 0, machine: machineTicks(), others: ticksOfOtherSessions() };
  if (r.errors) throw new Error(`${t.label}: ${r.errors} failed requests under load`);
  const capacity = r.seconds * 100 * availableParallelism();
  return {
    ...r, key: t.key, label: t.label, rounds: 1,
    cpuUs: t.pid ? (after.cpu - before.cpu) * 1e4 / r.requests : null,
    otherShare: ticksBetween(before.others, after.others) / capacity,
    stealShare: (after.machine.steal - before.machine.steal) / capacity,
    loopDelay: t.plantiles ? await eventLoopDelay(t.base) : null,
  };
}

/**
 * Compares `num` with `den` over up to `rounds` rounds, each a run of both back to back, the
 * order alternating (den, num, then num, den, …), so that drift on a shared 2-core machine
 * (other work, thermal or hypervisor changes) falls on both alike; one run of each differs
 * from the next by several per cent. Stops early, after at least one round, once `goOn` says
 * so (the background publish ended).
 */
export async function measurePaired(dir: string, num: Target, den: Target, tiles: readonly Xyz[], rounds: number, goOn: () => boolean = () => true): Promise<Paired> {
  const runs: [Row[], Row[]] = [[], []];
  for (let i = 0; i < rounds && (i === 0 || goOn()); i++) {
    const order = i % 2 === 0 ? [den, num] : [num, den];
    for (const t of order) runs[t === num ? 0 : 1].push(await measure(dir, t, tiles, i === 0));
  }
  return {
    rows: [medianRow(runs[0]), medianRow(runs[1])],
    ratios: runs[0].map((x, i) => x.rps / (runs[1][i]?.rps ?? NaN)),
    runs,
  };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** One row of the medians of several runs of one target (each figure's own median: the p99 is the median of the runs' p99s). */
function medianRow(runs: readonly Row[]): Row {
  const first = runs[0];
  if (!first) throw new Error('no runs to take the median of');
  const of = (f: (r: Row) => number): number => median(runs.map(f));
  return {
    ...first,
    requests: of((r) => r.requests), seconds: of((r) => r.seconds), rps: of((r) => r.rps), p50ms: of((r) => r.p50ms), p99ms: of((r) => r.p99ms),
    megabytesPerSecond: of((r) => r.megabytesPerSecond), errors: Math.max(...runs.map((r) => r.errors)),
    cpuUs: first.cpuUs === null ? null : of((r) => r.cpuUs ?? NaN),
    otherShare: Math.max(...runs.map((r) => r.otherShare)), stealShare: Math.max(...runs.map((r) => r.stealShare)),
    loopDelay: first.loopDelay === null ? null : { p99: of((r) => r.loopDelay?.p99 ?? NaN), max: of((r) => r.loopDelay?.max ?? NaN) },
    rounds: runs.length,
  };
}

/** plantiles' event-loop delay (ms) since the last read: prom-client resets its histogram at each scrape. */
async function eventLoopDelay(base: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const ms = (name: string): number => Number(new RegExp(`^plantiles_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return { p99: ms('p99'), max: ms('max') };
}

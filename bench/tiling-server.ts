import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import type { BenchContext } from './section.js';
import { BENCH_ADMIN_TOKEN_ENV, CLI_MAIN, runPublishJob } from './serving-data.js';
import { freePort, startProcess, waitForHttp } from './serving-procs.js';

/** The admin token the bench's server is started with. */
const TOKEN = 'tiling-bench-token';
/**
 * How often the bench asks a job how it is going, ms. Times come from the job's own
 * startedAt and finishedAt, so this does not bound their precision; asking every 20 ms
 * (50 requests a second, and the bench's own fetches, on the 2 cores the publish uses)
 * made the full publish job 1.0-1.3 s slower than asking every second (two runs each).
 */
export const POLL_MS = 250;

/** One chain in one server: the full publish job, then one republish job per edited source. */
export interface ServerChain {
  full: number;
  republish: number[];
  /** The server process's peak RSS over the chain (VmHWM). */
  peakRss: number;
}

/**
 * Publishes the layer as jobs of a running `plantiles serve`, as an administrator or the
 * scheduler does: a full publish of `sources[0]` into an empty store, then a republish
 * after each later source replaces it, in the same process (whose tiling threads the
 * republishes find warm). The server tiles with one thread per core at nice 0, like the
 * CLI. Each time runs from the job's start to its end by the server's clock (its
 * startedAt and finishedAt: the end is the commit that makes the version current). Returns the
 * chain's times; the store is left in `storeDir`.
 */
export async function publishChainInServer(dir: string, sources: readonly string[], storeDir: string): Promise<ServerChain> {
  const source = path.join(dir, 'server-farmland.geojson');
  rmSync(storeDir, { recursive: true, force: true });
  const port = await freePort();
  const config = path.join(dir, 'server-tiling.yaml');
  writeFileSync(config, stringify({
    node: { id: 'bench', title: 'bench' }, server: { host: '127.0.0.1', port },
    storage: { dir: path.relative(dir, storeDir), keepVersions: 5 },
    schedule: { tilingThreads: Math.max(1, Math.min(8, os.availableParallelism())), nice: 0 },
    admin: { tokens: [{ name: 'bench', env: BENCH_ADMIN_TOKEN_ENV }] },
    layers: [{ id: 'farmland', source: path.basename(source), idField: 'BSM', minzoom: 0, maxzoom: 14 }],
  }));
  copyFileSync(sources[0] as string, source);
  const server = startProcess('plantiles serve', process.execPath, [CLI_MAIN, 'serve', '--config', config], path.join(dir, 'server-tiling.log'), { ...process.env, [BENCH_ADMIN_TOKEN_ENV]: TOKEN });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp('plantiles serve', `${base}/healthz`);
    const publishJob = async (): Promise<number> => {
      const { job } = await runPublishJob(base, TOKEN, 'farmland', POLL_MS);
      return (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')) / 1000;
    };
    const full = await publishJob();
    const republish: number[] = [];
    for (const next of sources.slice(1)) {
      copyFileSync(next, source);
      republish.push(await publishJob());
    }
    return { full, republish, peakRss: peakRssOf(server.child.pid) };
  } finally {
    await server.stop();
  }
}

/** A process's peak RSS so far (VmHWM), bytes. */
function peakRssOf(pid: number | undefined): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : 0;
}

/**
 * The same publishes as jobs of a running server, `runs` chains of a fresh server each;
 * per step the median. The server's tiles must equal the CLI's (`cliStore`, after the last edit).
 */
export async function publishInServer(ctx: BenchContext, sources: string[], cliStore: string, runs: number): Promise<ServerRuns> {
  const chains: ServerChain[] = [];
  const storeDir = path.join(ctx.workDir, 'tiling-server-store');
  for (let k = 0; k < runs; k++) {
    ctx.log(`tiling: the same publishes as jobs of a running server, chain ${k + 1} of ${runs}`);
    chains.push(await publishChainInServer(ctx.workDir, sources, storeDir));
  }
  const hashes = (dir: string): Map<string, string> => {
    const store = openSqliteStore(dir);
    try {
      return new Map([...store.iterateTiles(store.getLayer('farmland')?.currentVid ?? 0)].map((t) => [`${t.z}/${t.x}/${t.y}`, t.hash]));
    } finally {
      store.close();
    }
  };
  const [mine, cli] = [hashes(storeDir), hashes(cliStore)];
  const same = mine.size === cli.size && [...mine].every(([k, h]) => cli.get(k) === h);
  if (!same) throw new Error('the server\'s tiles differ from the CLI\'s after the same publishes');
  rmSync(storeDir, { recursive: true, force: true });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return {
    chains,
    full: median(chains.map((c) => c.full)),
    republish: (chains[0]?.republish ?? []).map((_, i) => median(chains.map((c) => c.republish[i] as number))),
    peakRss: Math.max(...chains.map((c) => c.peakRss)),
  };
}

/** The server chains and the median of each step. */
export interface ServerRuns {
  chains: ServerChain[];
  full: number;
  republish: number[];
  peakRss: number;
}

import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { syncUpstream } from '../pipeline/mirror/sync-upstream.js';
import { UpstreamClient } from '../pipeline/mirror/upstream-client.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import type { BenchContext, BenchSection } from './section.js';
import { freePort, startProcess, waitForHttp } from './serving-procs.js';

const CLI = path.resolve('dist/src/cli/main.js');
const LAYER = 'farmland';
const CONCURRENCY = 8;

/** One measured sync into a mirror store. */
interface SyncFigures {
  label: string;
  seconds: number;
  /** Bytes read from the upstream's sockets: headers, catalog, TileJSON, diff and tile bodies. */
  wireBytes: number;
  tilesFetched: number;
  tileBodyBytes: number;
  diffTiles: number;
}

/** The tiles of a version that are new or changed since another, and their stored bytes. */
interface ChangedTiles {
  tiles: number;
  bytes: number;
  versionTiles: number;
}

/** Which parcels a change touches, by the generator's index and grid (see generate-parcels.ts). */
type ParcelFilter = (index: number) => boolean;

/**
 * Mirror sync: a city node serving a >= 200k-parcel layer (a child process), and
 * mirror stores synced in this process. Two 1% changes are synced incrementally — one
 * block of neighbouring parcels (a township's re-survey), then every hundredth parcel
 * (a scattered update, which touches most tiles) — and compared with full copies:
 * the bytes on the wire against the changed tiles' own bytes, and the time.
 */
export const syncBench: BenchSection = {
  name: 'sync',
  async run(ctx: BenchContext): Promise<string> {
    const parcels = await ctx.parcels();
    const dir = path.join(ctx.workDir, 'sync');
    const city = path.join(dir, 'city');
    mkdirSync(city, { recursive: true });
    const source = path.join(city, 'farmland.geojson');
    const block = blockOfParcels(parcels.features, 0.01);
    const scattered: ParcelFilter = (i) => i % 100 === 50;
    await rewriteParcels(parcels.file, source, () => false);
    const port = await freePort();
    const config = path.join(city, 'plantiles.yaml');
    writeFileSync(config, stringify({
      node: { id: 'bench-city', title: 'bench city' }, server: { host: '127.0.0.1', port }, storage: { dir: './store', keepVersions: 5 },
      layers: [{ id: LAYER, source: 'farmland.geojson', idField: 'BSM', minzoom: 10, maxzoom: 14 }],
    }));
    ctx.log(`sync: publishing ${parcels.features} parcels on the city`);
    publish(config);
    const server = startProcess('city', process.execPath, [CLI, '--config', config, 'serve'], path.join(dir, 'city.log'), { ...process.env, PLANTILES_CONFIG: '' });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp('city', `${url}/tiles/${LAYER}.json`);
      const run = async (label: string, mirror: string): Promise<SyncFigures> => {
        ctx.log(`sync: ${label}`);
        return { label, ...(await syncInto(path.join(dir, mirror), url)) };
      };
      const rows = [await run('full copy of 1.0.0 into an empty mirror', 'mirror-a')];
      const changes: ChangedTiles[] = [];
      let from = '1.0.0';
      for (const [what, filter] of [['a block of 1% of the parcels', block], ['a further 1%, scattered (every hundredth parcel)', (i: number) => block(i) || scattered(i)]] as const) {
        await rewriteParcels(parcels.file, source, filter);
        const to = publish(config);
        await waitForVersion(url, to);
        rows.push(await run(`incremental ${from} → ${to}: ${what}`, 'mirror-a'));
        changes.push(changedTileBytes(path.join(city, 'store'), from, to));
        from = to;
      }
      rows.push(await run(`full copy of ${from} into an empty mirror`, 'mirror-b'));
      return report(parcels.features, rows, changes);
    } finally {
      await server.stop();
    }
  },
};

/** Parcels in a square block of the generator's grid holding about `share` of them. */
function blockOfParcels(count: number, share: number): ParcelFilter {
  const cols = Math.ceil(Math.sqrt(count * 1.1));
  const side = Math.round(Math.sqrt(count * share));
  const col0 = Math.floor(cols / 3);
  const row0 = Math.floor(count / cols / 3);
  return (i) => {
    const col = i % cols;
    const row = Math.floor(i / cols);
    return col >= col0 && col < col0 + side && row >= row0 && row < row0 + side;
  };
}

/** Writes the parcels, giving those `changed` selects another land-use class. */
async function rewriteParcels(from: string, to: string, changed: ParcelFilter): Promise<void> {
  const out = createWriteStream(to);
  let index = -1;
  for await (const line of createInterface({ input: createReadStream(from), crlfDelay: Infinity })) {
    let text = line;
    if (text.includes('"type":"Feature"')) {
      index++;
      if (changed(index)) text = text.replace(/"DLBM":"\d{4}","DLMC":"[^"]*"/, '"DLBM":"1001","DLMC":"铁路用地"');
    }
    if (!out.write(text + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** `plantiles publish farmland --json` in a child process; returns the version. */
function publish(config: string): string {
  const out = execFileSync(process.execPath, [CLI, '--config', config, 'publish', LAYER, '--json'], {
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PLANTILES_CONFIG: '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = out.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; version?: string; state?: string }).filter((e) => e.event === 'result').pop();
  if (!result?.version || result.state !== 'published') throw new Error(`publish did not make a version: ${out.slice(-300)}`);
  return result.version;
}

async function waitForVersion(url: string, version: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${url}/tiles/${LAYER}.json`);
      if (res.ok && ((await res.json()) as { version: string }).version === version) return;
    } catch {
      // A keep-alive connection the server closed just then: ask again.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the city does not serve ${version}`);
}

/** One sync pass into the mirror store in `dir`, measured. */
async function syncInto(dir: string, url: string): Promise<Omit<SyncFigures, 'label'>> {
  const store = openSqliteStore(dir);
  const client = new UpstreamClient(url, { concurrency: CONCURRENCY });
  try {
    const started = performance.now();
    const result = await syncUpstream({
      client, store, concurrency: CONCURRENCY, keepVersions: 5, nodeId: 'bench-mirror', prefix: '', patterns: [LAYER],
    });
    const seconds = (performance.now() - started) / 1000;
    const o = result.outcomes[0];
    if (o?.state !== 'imported') throw new Error(`the sync did not import a version: ${JSON.stringify(o)}`);
    return { seconds, wireBytes: client.bytesReceived(), tilesFetched: o.fetched, tileBodyBytes: o.fetchedBytes, diffTiles: o.diffTiles };
  } finally {
    client.close();
    store.close();
  }
}

/** The changed tiles of `to` (new or changed since `from`) and the sum of their stored bytes, read from the city's store. */
function changedTileBytes(storeDir: string, from: string, to: string): ChangedTiles {
  const store = openSqliteStore(storeDir);
  try {
    const layer = store.getLayer(LAYER);
    const vid = (tag: string): number => layer?.versions.find((v) => v.version === tag)?.vid ?? -1;
    const toVid = vid(to);
    let tiles = 0;
    let bytes = 0;
    for (const e of store.diff(vid(from), toVid)) {
      if ('deleted' in e) continue;
      tiles++;
      bytes += store.getTile(toVid, e.z, e.x, e.y)?.gz.length ?? 0;
    }
    return { tiles, bytes, versionTiles: layer?.versions.find((v) => v.vid === toVid)?.tiles ?? 0 };
  } finally {
    store.close();
  }
}

function report(features: number, rows: SyncFigures[], changes: ChangedTiles[]): string {
  const mb = (b: number): string => (b / 2 ** 20).toFixed(2);
  const full = rows[rows.length - 1] as SyncFigures;
  const incremental = rows.slice(1, -1);
  const load = os.loadavg().map((l) => l.toFixed(1)).join(', ');
  return [
    '## Mirror sync',
    '',
    `A city node (a separate \`plantiles serve\` process) serves ${features.toLocaleString('en')} seeded farmland parcels at zooms 10–14; a mirror`,
    `syncs over loopback with ${CONCURRENCY} keep-alive connections. Each change gives 1% of the parcels another land-use class.`,
    `Load average at the end of the section: ${load} (times on a busy machine are noisy; byte counts are not).`,
    '',
    '| sync | tiles in the diff | tiles fetched | tile bytes (MiB) | bytes on the wire (MiB) | seconds |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.label} | ${r.diffTiles} | ${r.tilesFetched} | ${mb(r.tileBodyBytes)} | ${mb(r.wireBytes)} | ${r.seconds.toFixed(2)} |`),
    '',
    ...incremental.flatMap((r, i) => {
      const c = changes[i] as ChangedTiles;
      return [
        `- ${r.label}: ${c.tiles} of ${c.versionTiles} tiles changed (${mb(c.bytes)} MiB). Bytes on the wire / the changed tiles' bytes:`,
        `  **${(r.wireBytes / Math.max(1, c.bytes)).toFixed(3)}×** (target ≤ 1.2×); sync time / a full copy: **${(r.seconds / full.seconds).toFixed(3)}** (${r.seconds.toFixed(2)} s vs ${full.seconds.toFixed(2)} s).`,
      ];
    }),
    '',
    'The wire figure counts everything read from the upstream\'s sockets: HTTP headers, catalog, TileJSON, the NDJSON diff and the tiles.',
    '',
  ].join('\n');
}

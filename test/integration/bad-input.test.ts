import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import type { Job } from '../../src/jobs/jobs.js';
import { publishViaApi, startAdminNode, TOKENS, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';
import type { BadCase } from '../fixtures/bad/build-corpus.js';
import { GENERATORS, writeGoodSource } from '../fixtures/bad/generate-cases.js';
import { hasOgr2ogr } from '../fixtures/ingest/sources.js';

// The bad-input corpus (test/fixtures/bad/<case>/case.json): a layer per format
// first gets a good version; then, case by case, its source is replaced by the
// broken one and the built CLI publishes it. Each must exit 1 with one line
// naming the file, the feature (where there is one) and the problem, while the
// good version stays current and byte-identical and the server keeps serving.
// The same source is then published by an admin job on the running server, which
// must fail with the same line.

const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bad');
const CLI = path.resolve('dist/src/cli/main.js');
const cases = readdirSync(CORPUS)
  .filter((name) => existsSync(path.join(CORPUS, name, 'case.json')))
  .map((name) => ({ name, ...(JSON.parse(readFileSync(path.join(CORPUS, name, 'case.json'), 'utf8')) as BadCase) }));
const runnable = cases.filter((c) => c.needs !== 'ogr2ogr' || hasOgr2ogr);

interface CliRun { status: number | null; stdout: string; stderr: string }

interface Snapshot { version: string; versions: string[]; tiles: Record<string, string> }

function runCli(config: string, layer: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--config', config, 'publish', layer], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs tasks with at most `limit` at once (the CLI runs are independent processes). */
async function inPool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  }));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('bad-input corpus', () => {
  let dir: string;
  let node: AdminNode;
  const runs = new Map<string, CliRun>();
  const jobs = new Map<string, Job>();
  /** The layer's state after each case, to compare with the good version's. */
  const after = new Map<string, Snapshot>();
  const good = new Map<string, Snapshot>();

  /** Every tile of the layer's current version over the parcels' extent: hash of the plain bytes, and the version served. */
  const snapshot = async (layer: string): Promise<Snapshot> => {
    const tiles: Record<string, string> = {};
    let version = '';
    for (let z = 8; z <= 10; z++) {
      const a = tileForLonLat(115.94, 36.46, z);
      const b = tileForLonLat(116.0, 36.42, z);
      for (let x = a.x; x <= b.x; x++) {
        for (let y = a.y; y <= b.y; y++) {
          const res = await fetch(`${node.url}/tiles/${layer}/${z}/${x}/${y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
          const body = Buffer.from(await res.arrayBuffer());
          version = res.headers.get('x-tile-version') ?? version;
          tiles[`${z}/${x}/${y}`] = `${res.status}:${createHash('sha256').update(body).digest('hex')}`;
        }
      }
    }
    return { version, versions: node.rt.store.getLayer(layer)?.versions.map((v) => v.version) ?? [], tiles };
  };

  /** One layer per format gets a good version; its cases then replace its source one after another. */
  const layerOf = (c: BadCase): string => `bad-${path.extname(c.source).slice(1)}`;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-bad-');
    const formats = [...new Set(runnable.map((c) => c.source))];
    const layerFor = (source: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      ({ id: layerOf({ source } as BadCase), source: `${path.extname(source).slice(1)}/${source}`, idField: 'BSM', minzoom: 8, maxzoom: 10, ...extra });
    const base = { node: { id: 'bad', title: 'bad input' }, storage: { dir: './store', keepVersions: 3 } };
    const admin = { tokens: [{ name: 'city', env: 'CITY_TOKEN', layers: ['*'] }] };
    const config = writeConfig(dir, { ...base, admin, layers: formats.map((f) => layerFor(f)) });
    node = await startAdminNode(config, { CITY_TOKEN: TOKENS.city });
    for (const source of formats) {
      const folder = path.join(dir, path.extname(source).slice(1));
      mkdirSync(folder, { recursive: true });
      await writeGoodSource(folder, source);
      expect((await publishViaApi(node.url, layerOf({ source } as BadCase))).version).toBe('1.0.0');
      good.set(source, await snapshot(layerOf({ source } as BadCase)));
    }
    const groups = formats.map((f) => runnable.filter((c) => c.source === f));
    await inPool(groups, 2, async (group) => {
      for (const c of group) {
        const folder = path.join(dir, path.extname(c.source).slice(1));
        rmSync(folder, { recursive: true });
        mkdirSync(folder);
        if (c.generate) await (GENERATORS[c.generate] as (d: string) => Promise<void>)(folder);
        for (const f of readdirSync(path.join(CORPUS, c.name))) if (f !== 'case.json') copyFileSync(path.join(CORPUS, c.name, f), path.join(folder, f));
        // The case's own layer settings (some are the problem) apply only to its run.
        const caseConfig = path.join(dir, `${c.name}.yaml`);
        writeFileSync(caseConfig, stringify({ ...base, layers: [layerFor(c.source, c.layer)] }));
        runs.set(c.name, await runCli(caseConfig, layerOf(c)));
        // Cases whose problem is in the layer's own settings only exist in their CLI config.
        if (!c.layer) jobs.set(c.name, await publishViaApi(node.url, layerOf(c)));
        after.set(c.name, await snapshot(layerOf(c)));
      }
    });
  }, 900_000);
  afterAll(async () => {
    await node?.stop();
    removeDir(dir);
  });

  it('has at least 25 cases, covering every format', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    const formats = new Set(cases.map((c) => path.extname(c.source)));
    expect([...formats].sort()).toEqual(['.geojson', '.gpkg', '.ndjson', '.shp', '.zip']);
  });

  for (const c of cases) {
    // Cases built with ogr2ogr are skipped (with this reason) where gdal-bin is not installed.
    it.skipIf(c.needs === 'ogr2ogr' && !hasOgr2ogr)(`${c.name}: exit 1 with one line naming file, feature and problem; the good version stays`, () => {
      const run = runs.get(c.name);
      expect(run, c.name).toBeDefined();
      const { status, stderr } = run as CliRun;
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(status, stderr).toBe(1);
      const where = `${escape(c.file)}: ${c.feature ? `feature ${escape(c.feature)}: ` : ''}`;
      const prefix = `plantiles: publish ${layerOf(c)} failed: `;
      expect(lines[0]).toMatch(new RegExp(`^${escape(prefix)}${where}${c.problem}`));
      if (!c.layer) {
        const job = jobs.get(c.name);
        expect(job?.state, c.name).toBe('failed');
        expect(job?.error).toBe(lines[0]?.slice(prefix.length));
      }
      const state = after.get(c.name);
      expect(state?.version).toBe('1.0.0');
      expect(state?.versions).toEqual(['1.0.0']);
      expect(state).toEqual(good.get(c.source));
    });
  }

  it('keeps serving: every layer answers with its good tiles after the whole corpus', async () => {
    for (const source of new Set(runnable.map((c) => c.source))) {
      const now = await snapshot(layerOf({ source } as BadCase));
      expect(now).toEqual(good.get(source));
      expect(Object.values(now.tiles).some((t) => t.startsWith('200:')), source).toBe(true);
    }
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashSource } from '../../pipeline/jobs/fingerprint-source.js';
import { ConfigError } from '../../src/config/load-config.js';
import type { Job } from '../../src/jobs/jobs.js';
import type { AuditEntry } from '../../src/store/sqlite-audit.js';
import { SqliteSources } from '../../src/store/sqlite-sources.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { adminConfig, bearer, startAdminNode, TOKENS, waitForJob, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

const hasOgr2ogr = spawnSync('ogr2ogr', ['--version']).error === undefined;

/** Three GeoJSON layers, each its own file, plus (with GDAL) a Shapefile layer. */
function layersIn(dir: string, withShapefile: boolean): Record<string, unknown>[] {
  const base = (parcelConfig().layers as Record<string, unknown>[])[0] as Record<string, unknown>;
  const layers = ['a', 'b', 'c'].map((id) => {
    writeGeojson(path.join(dir, `${id}.geojson`), makeParcels(4, 3));
    return { ...base, id, source: `${id}.geojson`, minzoom: 8, maxzoom: 10 };
  });
  if (withShapefile) {
    writeGeojson(path.join(dir, 'shp-src.geojson'), makeParcels(4, 3));
    execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', path.join(dir, 'd.shp'), path.join(dir, 'shp-src.geojson'), '-lco', 'ENCODING=UTF-8']);
    layers.push({ ...base, id: 'd', source: 'd.shp', minzoom: 8, maxzoom: 10 });
  }
  return layers;
}

describe('the source scan', () => {
  let dir: string;
  let node: AdminNode | null = null;

  afterEach(async () => {
    await node?.stop();
    node = null;
    removeDir(dir);
  });

  const finishAll = async (n: AdminNode): Promise<Job[]> =>
    Promise.all(n.rt.jobs.list().filter((j) => j.state === 'queued' || j.state === 'running').map((j) => waitForJob(n.url, j.id)));

  it('queues exactly the layers whose source content changed — a touched but identical file is not one', async () => {
    dir = makeTempDir();
    const layers = layersIn(dir, hasOgr2ogr);
    const ids = layers.map((l) => l.id as string);
    node = await startAdminNode(writeConfig(dir, adminConfig({ layers })));
    // Never published: every layer is found.
    expect((await node.rt.jobs.scan()).map((c) => [c.layer, c.reason])).toEqual(ids.map((id) => [id, 'never published']));
    expect((await finishAll(node)).map((j) => j.state)).toEqual(ids.map(() => 'succeeded'));
    // Nothing changed: nothing queued.
    const before = node.rt.jobs.list().length;
    expect(await node.rt.jobs.scan()).toEqual([]);
    expect(node.rt.jobs.list()).toHaveLength(before);
    // b touched (same bytes, new mtime); c rewritten with a changed attribute.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, 'b.geojson'), later, later);
    const fc = makeParcels(4, 3);
    const p = fc.features[2]?.properties;
    if (p) p.DLMC = '坑塘水面';
    writeGeojson(path.join(dir, 'c.geojson'), fc);
    const changed = await node.rt.jobs.scan();
    expect(changed).toEqual([{ layer: 'c', reason: 'content changed' }]);
    const [job] = await finishAll(node);
    expect(job).toMatchObject({ layer: 'c', state: 'succeeded', version: '1.1.0', requestedBy: 'scheduler' });
    expect(await node.rt.jobs.scan()).toEqual([]);
    const audit = ((await (await fetch(`${node.url}/admin/audit`, { headers: bearer(TOKENS.city) })).json()) as { entries: AuditEntry[] }).entries;
    expect(audit[0]).toMatchObject({ actor: 'scheduler', action: 'publish', layer: 'c', result: expect.stringMatching(/content changed/) });
  });

  it.skipIf(!hasOgr2ogr)('sees a change in a Shapefile\'s .dbf alone', async () => {
    dir = makeTempDir();
    const layers = layersIn(dir, true);
    node = await startAdminNode(writeConfig(dir, adminConfig({ layers })));
    await node.rt.jobs.scan();
    await finishAll(node);
    const fc = makeParcels(4, 3);
    const p = fc.features[0]?.properties;
    if (p) p.DLMC = '改了属性';
    writeGeojson(path.join(dir, 'shp-src.geojson'), fc);
    execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', '-overwrite', path.join(dir, 'd.shp'), path.join(dir, 'shp-src.geojson'), '-lco', 'ENCODING=UTF-8']);
    expect(await node.rt.jobs.scan()).toEqual([{ layer: 'd', reason: 'content changed' }]);
  });

  it('records, for a GeoJSON read on a tiling thread, the hash of the bytes the job read, as a scan hashes the file', async () => {
    dir = makeTempDir();
    const layers = layersIn(dir, false).slice(0, 1);
    node = await startAdminNode(writeConfig(dir, adminConfig({ layers, schedule: { tilingThreads: 1 } })));
    expect((await node.rt.jobs.scan()).map((c) => c.layer)).toEqual(['a']);
    expect((await finishAll(node)).map((j) => j.state)).toEqual(['succeeded']);
    const file = path.join(dir, 'a.geojson');
    const store = openSqliteStore(path.join(dir, 'store'));
    try {
      expect(new SqliteSources(store.db).state('a').published?.hash).toBe(await hashSource(file));
    } finally {
      store.close();
    }
    // Touched, the same bytes: the scan hashes it and finds it published.
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(await node.rt.jobs.scan()).toEqual([]);
  });

  it('does not retry content that failed to publish, nor content already published', async () => {
    dir = makeTempDir();
    const layers = layersIn(dir, false);
    node = await startAdminNode(writeConfig(dir, adminConfig({ layers })));
    await node.rt.jobs.scan();
    await finishAll(node);
    writeGeojson(path.join(dir, 'a.geojson'), { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { BSM: 'bad' }, geometry: { type: 'Polygon', coordinates: [[[116, 36.4], [116.01, 36.4], [116, 36.4]]] } }] });
    expect((await node.rt.jobs.scan()).map((c) => c.layer)).toEqual(['a']);
    const [failed] = await finishAll(node);
    expect(failed).toMatchObject({ layer: 'a', state: 'failed' });
    expect(failed?.error).toMatch(/^a\.geojson: feature BSM=bad: /);
    expect(await node.rt.jobs.scan()).toEqual([]);
    // Back to the content that is published: nothing to do.
    writeGeojson(path.join(dir, 'a.geojson'), makeParcels(4, 3));
    expect(await node.rt.jobs.scan()).toEqual([]);
    const fc = makeParcels(4, 3);
    const p = fc.features[0]?.properties;
    if (p) p.DLMC = '修正后';
    writeGeojson(path.join(dir, 'a.geojson'), fc);
    expect(await node.rt.jobs.scan()).toEqual([{ layer: 'a', reason: 'content changed' }]);
  });

  it('runs on the schedule.scan cron expression', async () => {
    dir = makeTempDir();
    const layers = layersIn(dir, false);
    node = await startAdminNode(writeConfig(dir, adminConfig({ layers, schedule: { scan: '* * * * * *' } })));
    const deadline = Date.now() + 20_000;
    let jobs: Job[] = [];
    while (Date.now() < deadline) {
      jobs = node.rt.jobs.list();
      if (jobs.length === 3 && jobs.every((j) => j.state === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(jobs.map((j) => [j.layer, j.state, j.requestedBy]).sort()).toEqual([['a', 'succeeded', 'scheduler'], ['b', 'succeeded', 'scheduler'], ['c', 'succeeded', 'scheduler']]);
    const fc = makeParcels(4, 3);
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = 1;
    writeGeojson(path.join(dir, 'b.geojson'), fc);
    let next: Job | undefined;
    while (Date.now() < deadline + 20_000 && !next) {
      next = node.rt.jobs.list().find((j) => j.layer === 'b' && j.version === '1.1.0');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(next).toMatchObject({ layer: 'b', state: 'succeeded', requestedBy: 'scheduler' });
    expect(node.rt.jobs.list()).toHaveLength(4);
  });

  it('refuses a malformed schedule.scan when the config is loaded, naming the file and the key', () => {
    dir = makeTempDir();
    const layers = layersIn(dir, false);
    expect(() => writeConfig(dir, adminConfig({ layers, schedule: { scan: 'every five minutes' } }))).toThrow(ConfigError);
    expect(() => writeConfig(dir, adminConfig({ layers, schedule: { scan: 'every five minutes' } }))).toThrow(/plantiles\.yaml: schedule\.scan: "every five minutes" is not a valid cron expression/);
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, currentVersion, getJson, rawTile, runCli, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { collectSse } from '../helpers/sse.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

const layer = (source: string): Record<string, unknown> => ({ id: 'parcels', title: '耕地图斑', source, idField: 'BSM', minzoom: 8, maxzoom: 13 });

/** 100 parcels; `changed` parcels (1 = 1%) get another area. */
function writeParcels(file: string, changed: number): void {
  const fc = makeParcels(10, 10);
  for (let i = 0; i < changed; i++) {
    const p = fc.features[i * 37]?.properties;
    if (p) p.TBMJ = 99_999 + i;
  }
  writeGeojson(file, fc);
}

interface MirrorsBody {
  node: string;
  mirrors: { upstream: string; upstreamNode: string; state: string; mode: string; lagVersions: number; lagSeconds: number; lastError: unknown; layers: { layer: string; version: string; upstreamVersion: string; origin: string }[] }[];
}

// Two real plantiles processes, city and county; the county follows the city through a counting proxy.
describe('mirror: a county follows its city', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;
  const source = (): string => path.join(dir, 'city', 'parcels.geojson');

  beforeAll(async () => {
    dir = makeTempDir('plantiles-mirror-');
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'city', title: 'city' }, layers: [layer('parcels.geojson')] });
    writeParcels(source(), 0);
    await city.publish('parcels');
    proxy = await CountingProxy.start(city.url);
    // The county also declares a layer "parcels", to show a local publish of a mirrored layer is refused.
    writeParcels(path.join(dir, 'county-parcels.geojson'), 3);
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      layers: [layer('../county-parcels.geojson')],
      mirrors: [{ upstream: proxy.url, retryMaxSeconds: 1 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('catches up at start: the same version tag and byte-identical tiles', async () => {
    await waitFor('county to copy 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    const up = await tileHashes(city.url, 'parcels', '1.0.0');
    const down = await tileHashes(county.url, 'parcels', '1.0.0');
    expect(up.size).toBeGreaterThan(10);
    expect(down).toEqual(up);
    for (const zxy of up.keys()) {
      const [a, b] = await Promise.all([rawTile(city.url, 'parcels', '1.0.0', zxy), rawTile(county.url, 'parcels', '1.0.0', zxy)]);
      expect(b.status).toBe(200);
      expect(b.etag).toBe(a.etag);
      expect(b.body.equals(a.body)).toBe(true);
    }
    // Nothing was held before: every tile came over once.
    expect(new Set(proxy.tileRequests().map((r) => r.path)).size).toBe(proxy.tileRequests().length);
    const tj = await getJson<Record<string, unknown>>(`${county.url}/tiles/parcels@1.0.0.json`);
    const upTj = await getJson<Record<string, unknown>>(`${city.url}/tiles/parcels@1.0.0.json`);
    for (const key of ['version', 'minzoom', 'maxzoom', 'bounds', 'center', 'vector_layers', 'attribution', 'plantiles:published', 'plantiles:features']) {
      expect(tj[key], key).toEqual(upTj[key]);
    }
  });

  it('follows a 1% change within 5 s, fetching only the tiles whose hash it lacks', async () => {
    proxy.reset();
    const events = collectSse(`${county.url}/events`, 1, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 200));
    writeParcels(source(), 1);
    const published = await city.publish('parcels');
    expect(published).toMatchObject({ state: 'published', version: '1.1.0' });
    await waitFor('county to serve 1.1.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.1.0' ? true : undefined), 5_000, 50);

    const before = new Set((await tileHashes(city.url, 'parcels', '1.0.0')).values());
    const after = await tileHashes(city.url, 'parcels', '1.1.0');
    const needed = new Set([...after.values()].filter((h) => !before.has(h)));
    const fetched = proxy.tileRequests();
    expect(needed.size).toBeGreaterThan(0);
    expect(fetched.length).toBe(needed.size);
    expect(fetched.length).toBeLessThan(after.size / 2);
    for (const r of fetched) {
      const zxy = /@1\.1\.0\/(\d+\/\d+\/\d+)\.mvt$/.exec(r.path)?.[1] ?? '';
      expect(needed.has(after.get(zxy) ?? '')).toBe(true);
    }
    expect(proxy.records.some((r) => r.path === '/tiles/parcels@1.1.0/diff/1.0.0')).toBe(true);
    expect(await tileHashes(county.url, 'parcels', '1.1.0')).toEqual(after);

    // The county's own change feed reports the switch (with its own sequence number) for its downstream.
    const [event] = await events;
    expect(event?.event).toBe('publish');
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ layer: 'parcels', version: '1.1.0', previous: '1.0.0' });
  });

  it('reports the mirror on GET /mirrors and the origin in the catalog', async () => {
    const body = await getJson<MirrorsBody>(`${county.url}/mirrors`);
    expect(body.node).toBe('county');
    expect(body.mirrors).toHaveLength(1);
    expect(body.mirrors[0]).toMatchObject({ upstream: proxy.url, upstreamNode: 'city', state: 'following', mode: 'events', lagVersions: 0, lagSeconds: 0, lastError: null });
    expect(body.mirrors[0]?.layers).toEqual([expect.objectContaining({ layer: 'parcels', version: '1.1.0', upstreamVersion: '1.1.0', origin: 'city' })]);
    const catalog = await getJson<{ layers: { id: string; origin: string }[] }>(`${county.url}/catalog`);
    expect(catalog.layers.find((l) => l.id === 'parcels')?.origin).toBe('city');
    expect(((await getJson<MirrorsBody>(`${city.url}/mirrors`)).mirrors)).toEqual([]);
  });

  it('refuses to publish or roll back a mirrored layer on the mirror', async () => {
    const publish = await county.cli(['publish', 'parcels']);
    expect(publish.code).toBe(1);
    expect(publish.stderr).toMatch(/cannot publish "parcels": it is mirrored from node "city" and is read-only here/);
    const rollback = await county.cli(['rollback', 'parcels', '1.0.0']);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(/mirrored from node "city"/);
    // With a config that does not declare it (mirrored layers need not be), the refusal still names the origin.
    const bare = path.join(county.dir, 'bare.yaml');
    writeFileSync(bare, 'node: { id: county, title: county }\nstorage: { dir: ./store }\nlayers: []\n');
    const undeclared = await runCli(['--config', bare, 'publish', 'parcels']);
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toMatch(/cannot publish "parcels": it is mirrored from node "city"/);
    expect(await currentVersion(county.url, 'parcels')).toBe('1.1.0');
  });

  it('follows a rollback on the city by switching to the version it already holds', async () => {
    proxy.reset();
    const r = await city.cli(['rollback', 'parcels', '1.0.0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('county to roll back', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    expect(proxy.tileRequests()).toHaveLength(0);
  });
});

// `serve` with a layer named in the mirror config that the upstream lacks (a typo): it says
// so, as `sync` does, in its log and on /mirrors, and still mirrors the layers that exist.
describe('mirror: a configured layer the upstream does not have', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-mirror-absent-');
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'city', title: 'city' }, layers: [layer('parcels.geojson')] });
    writeParcels(source(), 0);
    await city.publish('parcels');
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      mirrors: [{ upstream: city.url, layers: ['parcels', 'nothere'], retryMaxSeconds: 1 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    removeDir(dir);
  });
  const source = (): string => path.join(dir, 'city', 'parcels.geojson');

  it('reports the missing layer in lastError and the log, and mirrors the others', async () => {
    await waitFor('county to copy parcels 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    const expected = `${city.url}: no layer "nothere" upstream (it has: parcels)`;
    const status = await waitFor('/mirrors to name the missing layer', async () => {
      const s = (await getJson<MirrorsBody>(`${county.url}/mirrors`)).mirrors[0];
      return s?.lastError ? s : undefined;
    });
    expect(status).toMatchObject({ state: 'following', lastError: { message: expected } });
    expect(status.layers).toEqual([expect.objectContaining({ layer: 'parcels', version: '1.0.0', upstreamVersion: '1.0.0' })]);
    // A JSON log line: the quotes in the message are escaped.
    await waitFor('the county to log it', async () => (county.logs.includes(JSON.stringify(expected).slice(1, -1)) ? true : undefined));
  });
});

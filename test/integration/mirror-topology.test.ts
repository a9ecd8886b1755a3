import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, currentVersion, getJson, rawTile, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

const DEAD = 'http://127.0.0.1:9';

interface Catalog { node: { id: string }; layers: { id: string; version: string; origin: string }[] }

async function layersOf(url: string): Promise<Record<string, { version: string; origin: string }>> {
  const c = await getJson<Catalog>(`${url}/catalog`);
  return Object.fromEntries(c.layers.map((l) => [l.id, { version: l.version, origin: l.origin }]));
}

// Three real processes: a county (gaotang), its city (liaocheng) and a province (shandong).
// The city aggregates the county under a prefix, the county follows the city back (no loop),
// and the province follows the city (a chain of three).
describe('mirror topology: prefix, no loops, a chain of three', () => {
  let dir: string;
  let county: ClusterNode;
  let city: ClusterNode;
  let province: ClusterNode;
  const proxies: CountingProxy[] = [];

  beforeAll(async () => {
    dir = makeTempDir('plantiles-topology-');
    // Stable addresses first (the nodes follow each other both ways), pointed at the nodes once they run.
    const [toCounty, toCity] = [await CountingProxy.start(DEAD), await CountingProxy.start(DEAD)] as [CountingProxy, CountingProxy];
    proxies.push(toCounty, toCity);
    writeGeojson(path.join(dir, 'farmland.geojson'), makeParcels(6, 5));
    writeGeojson(path.join(dir, 'zoning.geojson'), makeParcels(4, 4));
    const layer = (id: string): Record<string, unknown> => ({ id, source: `../${id}.geojson`, idField: 'BSM', minzoom: 8, maxzoom: 12 });
    const mirror = (upstream: string, prefix = ''): Record<string, unknown> => ({ upstream, prefix, retryMaxSeconds: 0.5 });
    county = await ClusterNode.start(path.join(dir, 'county'), { node: { id: 'gaotang', title: '高唐县' }, layers: [layer('farmland')], mirrors: [mirror(toCity.url)] });
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'liaocheng', title: '聊城市' }, layers: [layer('zoning')], mirrors: [mirror(toCounty.url, 'gaotang-')] });
    province = await ClusterNode.start(path.join(dir, 'province'), { node: { id: 'shandong', title: '山东省' }, mirrors: [mirror(toCity.url)] });
    toCounty.target = county.url;
    toCity.target = city.url;
    await county.publish('farmland');
    await city.publish('zoning');
  });
  afterAll(async () => {
    for (const node of [province, city, county]) await node?.stop();
    for (const p of proxies) await p.close();
    removeDir(dir);
  });

  it('shows county-origin layers on the city under its prefix, and city layers on the county', async () => {
    await waitFor('city to mirror gaotang-farmland', async () => ((await currentVersion(city.url, 'gaotang-farmland')) === '1.0.0' ? true : undefined));
    await waitFor('county to mirror zoning', async () => ((await currentVersion(county.url, 'zoning')) === '1.0.0' ? true : undefined));
    expect(await layersOf(city.url)).toEqual({
      'gaotang-farmland': { version: '1.0.0', origin: 'gaotang' },
      zoning: { version: '1.0.0', origin: 'liaocheng' },
    });
    expect(await tileHashes(city.url, 'gaotang-farmland', '1.0.0')).toEqual(await tileHashes(county.url, 'farmland', '1.0.0'));
  });

  it('never mirrors a layer back to its origin node', async () => {
    // The county follows the city, whose catalog lists gaotang-farmland with origin gaotang: skipped.
    const mirrors = await getJson<{ mirrors: { layers: { layer: string }[]; lastError: unknown }[] }>(`${county.url}/mirrors`);
    expect(mirrors.mirrors[0]?.layers.map((l) => l.layer)).toEqual(['zoning']);
    expect(await layersOf(county.url)).toEqual({
      farmland: { version: '1.0.0', origin: 'gaotang' },
      zoning: { version: '1.0.0', origin: 'liaocheng' },
    });
  });

  it('converges along a chain of three (province ← city ← county), byte-identical', async () => {
    writeGeojson(path.join(dir, 'farmland.geojson'), makeParcels(6, 6));
    expect(await county.publish('farmland')).toMatchObject({ state: 'published', version: '1.1.0' });
    await waitFor('province to serve gaotang-farmland 1.1.0', async () => ((await currentVersion(province.url, 'gaotang-farmland')) === '1.1.0' ? true : undefined));
    await waitFor('province to serve zoning', async () => ((await currentVersion(province.url, 'zoning')) === '1.0.0' ? true : undefined));
    const origin = await tileHashes(county.url, 'farmland', '1.1.0');
    expect(await tileHashes(province.url, 'gaotang-farmland', '1.1.0')).toEqual(origin);
    for (const zxy of [...origin.keys()].slice(0, 8)) {
      const [a, b] = await Promise.all([rawTile(county.url, 'farmland', '1.1.0', zxy), rawTile(province.url, 'gaotang-farmland', '1.1.0', zxy)]);
      expect(b.body.equals(a.body)).toBe(true);
      expect(b.etag).toBe(a.etag);
    }
    expect(await layersOf(province.url)).toEqual({
      'gaotang-farmland': { version: '1.1.0', origin: 'gaotang' },
      zoning: { version: '1.0.0', origin: 'liaocheng' },
    });
    // The province knows only its own upstream, the city.
    const status = await getJson<{ mirrors: { upstreamNode: string; lagVersions: number }[] }>(`${province.url}/mirrors`);
    expect(status.mirrors).toEqual([expect.objectContaining({ upstreamNode: 'liaocheng', lagVersions: 0 })]);
  });
});

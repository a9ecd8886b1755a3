import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, currentVersion, getJson, rawTile, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

interface MirrorsBody { mirrors: { state: string; lastError: { message: string } | null; layers: { lastError: string | null }[] }[] }

// Tiles that do not match their hash, and versions pruned upstream before the mirror caught up.
describe('mirror integrity: hash checks and pruned versions', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;
  let edits = 0;

  /** Publishes a new version on the city, changing one more parcel's area. */
  const publishEdit = async (): Promise<string> => {
    const fc = makeParcels(10, 10);
    edits++;
    for (let i = 0; i < edits; i++) {
      const p = fc.features[(i * 13) % fc.features.length]?.properties;
      if (p) p.TBMJ = 50_000 + i;
    }
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    return (await city.publish('parcels')).version;
  };
  const startCounty = async (): Promise<ClusterNode> =>
    ClusterNode.start(path.join(dir, 'county'), { node: { id: 'county', title: 'county' }, mirrors: [{ upstream: proxy.url, retryMaxSeconds: 0.5 }] });

  beforeAll(async () => {
    dir = makeTempDir('plantiles-integrity-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(10, 10));
    city = await ClusterNode.start(path.join(dir, 'city'), {
      node: { id: 'city', title: 'city' },
      storage: { dir: './store', keepVersions: 2 },
      layers: [{ id: 'parcels', source: '../parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 13 }],
    });
    await city.publish('parcels');
    proxy = await CountingProxy.start(city.url);
    county = await startCounty();
    await waitFor('county to copy 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('fetches a tile again when its bytes do not match its hash', async () => {
    proxy.reset();
    proxy.corrupt = (p, nth) => p.includes('@1.1.0/') && nth === 1;
    expect(await publishEdit()).toBe('1.1.0');
    await waitFor('county to serve 1.1.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.1.0' ? true : undefined));
    const requests = proxy.tileRequests();
    const paths = new Set(requests.map((r) => r.path));
    expect(paths.size).toBeGreaterThan(0);
    expect(requests.length).toBe(2 * paths.size);
    expect(await tileHashes(county.url, 'parcels', '1.1.0')).toEqual(await tileHashes(city.url, 'parcels', '1.1.0'));
  });

  it('fails the job when a tile stays corrupt, keeps serving the old version, and resumes once it is fixed', async () => {
    proxy.reset();
    proxy.corrupt = (p) => /@1\.2\.0\/13\//.test(p);
    expect(await publishEdit()).toBe('1.2.0');
    const failed = await waitFor('the mirror to report the failure', async () => {
      const m = (await getJson<MirrorsBody>(`${county.url}/mirrors`)).mirrors[0];
      return m?.lastError ? m : undefined;
    });
    expect(failed.lastError?.message).toMatch(/parcels@1\.2\.0 tile 13\/\d+\/\d+: its bytes hash to [0-9a-f]{32}, not [0-9a-f]{32} \(fetched twice\)/);
    expect(failed.layers[0]?.lastError).toMatch(/fetched twice/);
    expect(await currentVersion(county.url, 'parcels')).toBe('1.1.0');
    expect((await fetch(`${county.url}/tiles/parcels@1.2.0.json`)).status).toBe(404);

    proxy.corrupt = null;
    await waitFor('county to serve 1.2.0 after a retry', async () => ((await currentVersion(county.url, 'parcels')) === '1.2.0' ? true : undefined));
    // Tiles that arrived intact in the failed attempt were kept: only the corrupt ones crossed again.
    const intact = proxy.tileRequests().filter((r) => !/@1\.2\.0\/13\//.test(r.path));
    expect(intact.length).toBeGreaterThan(0);
    expect(new Set(intact.map((r) => r.path)).size).toBe(intact.length);
    expect(await tileHashes(county.url, 'parcels', '1.2.0')).toEqual(await tileHashes(city.url, 'parcels', '1.2.0'));
  });

  it('copies the newest version whole when the one it holds was pruned upstream, fetching only hashes it lacks', async () => {
    const held = new Set((await tileHashes(county.url, 'parcels', '1.2.0')).values());
    await county.stop();
    for (const expected of ['1.3.0', '1.4.0', '1.5.0']) expect(await publishEdit()).toBe(expected);
    expect((await fetch(`${city.url}/tiles/parcels@1.2.0.json`)).status).toBe(410);
    proxy.reset();
    county = await startCounty();
    await waitFor('county to serve 1.5.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.5.0' ? true : undefined));

    expect(proxy.records.find((r) => r.path === '/tiles/parcels@1.5.0/diff/1.2.0')?.status).toBe(410);
    expect(proxy.records.find((r) => r.path === '/tiles/parcels@1.5.0/diff/0.0.0')?.status).toBe(200);
    const newest = await tileHashes(city.url, 'parcels', '1.5.0');
    const lacking = new Set([...newest.values()].filter((h) => !held.has(h)));
    expect(lacking.size).toBeLessThan(newest.size);
    expect(proxy.tileRequests()).toHaveLength(lacking.size);
    expect(await tileHashes(county.url, 'parcels', '1.5.0')).toEqual(newest);
    const zxy = [...newest.keys()][0] ?? '';
    const [a, b] = await Promise.all([rawTile(city.url, 'parcels', '1.5.0', zxy), rawTile(county.url, 'parcels', '1.5.0', zxy)]);
    expect(b.body.equals(a.body)).toBe(true);
  });
});

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, currentVersion, getJson, rawTile, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

interface MirrorsBody { mirrors: { state: string; lastError: { message: string } | null; layers: unknown[] }[] }

const mirrorState = async (url: string): Promise<MirrorsBody['mirrors'][number] | undefined> => (await getJson<MirrorsBody>(`${url}/mirrors`)).mirrors[0];
const countLines = (logs: string, text: string): number => logs.split('\n').filter((l) => l.includes(text)).length;

// A county whose city is down when it starts, then dies in the middle of the first copy.
describe('mirror faults: upstream down at start, killed mid-transfer', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-faults-');
    proxy = await CountingProxy.start('http://127.0.0.1:9');
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      mirrors: [{ upstream: proxy.url, retryMaxSeconds: 0.4 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('retries an upstream that is down at start, logging the state change once', async () => {
    const status = await waitFor('the mirror to report the upstream down', async () => {
      const s = await mirrorState(county.url);
      return s?.state === 'upstream-down' ? s : undefined;
    });
    expect(status.lastError?.message).toContain(proxy.url);
    // Several retries, one log line.
    await waitFor('several reconnect attempts', async () => (proxy.records.filter((r) => r.path === '/events').length >= 4 ? true : undefined));
    expect(countLines(county.logs, 'upstream unreachable')).toBe(1);

    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(10, 10));
    city = await ClusterNode.start(path.join(dir, 'city'), {
      node: { id: 'city', title: 'city' },
      layers: [{ id: 'parcels', source: '../parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 13 }],
    });
    await city.publish('parcels');
  });

  it('resumes a copy cut by the upstream dying, never serving a partial version', async () => {
    const all = await tileHashes(city.url, 'parcels', '1.0.0');
    expect(all.size).toBeGreaterThan(12);
    proxy.reset();
    proxy.holdAfterTiles = 5;
    proxy.target = city.url;
    await waitFor('five tiles through and the rest held', async () => {
      const done = proxy.tileRequests().filter((r) => r.completed && r.status === 200).length;
      return done === 5 && proxy.heldCount > 0 ? true : undefined;
    });
    expect(await currentVersion(county.url, 'parcels')).toBeUndefined();

    await city.kill();
    proxy.dropHeld();
    await waitFor('the mirror to notice', async () => ((await mirrorState(county.url))?.state === 'upstream-down' ? true : undefined));
    expect((await fetch(`${county.url}/tiles/parcels.json`)).status).toBe(404);
    expect((await fetch(`${county.url}/tiles/parcels@1.0.0.json`)).status).toBe(404);
    expect((await getJson<{ layers: unknown[] }>(`${county.url}/catalog`)).layers).toEqual([]);

    proxy.holdAfterTiles = null;
    await city.restart();
    await waitFor('the county to finish the copy', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));

    // Every tile crossed once: the five that arrived before the kill were not fetched again.
    const served = proxy.tileRequests().filter((r) => r.status === 200);
    expect(new Set(served.map((r) => r.path)).size).toBe(served.length);
    expect(served.length).toBe(new Set(all.values()).size);
    expect(await tileHashes(county.url, 'parcels', '1.0.0')).toEqual(all);
    for (const zxy of [...all.keys()].slice(0, 6)) {
      const [a, b] = await Promise.all([rawTile(city.url, 'parcels', '1.0.0', zxy), rawTile(county.url, 'parcels', '1.0.0', zxy)]);
      expect(b.body.equals(a.body)).toBe(true);
    }
    expect(await mirrorState(county.url)).toMatchObject({ state: 'following', lastError: null });
    // One line per time the upstream went down (at start, and at the kill), however many retries.
    expect(countLines(county.logs, 'upstream unreachable')).toBe(2);
  });

  it('takes a 502 on /events (a proxy whose upstream restarts) for an outage, and keeps the event stream', async () => {
    proxy.reset();
    proxy.eventsStatus = 502;
    // The city restarts: the county's stream ends, and the proxy answers its reconnects 502 meanwhile.
    await city.stop();
    await city.restart();
    await waitFor('the county to meet the 502 a few times', async () => (proxy.records.filter((r) => r.path === '/events' && r.status === 502).length >= 3 ? true : undefined));
    proxy.eventsStatus = null;
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(10, 11));
    const { version } = await city.publish('parcels');
    await waitFor('the county to follow', async () => ((await currentVersion(county.url, 'parcels')) === version ? true : undefined));
    const mirrors = await getJson<{ mirrors: { mode: string }[] }>(`${county.url}/mirrors`);
    expect(mirrors.mirrors[0]?.mode).toBe('events');
    expect(county.logs).not.toMatch(/no event stream, polling/);
  });
});

// A proxy that answers 502 on /events alone, for good, while /catalog, /changes and the tiles
// work: the mirror keeps retrying the stream, and meanwhile follows by polling /changes.
describe('mirror faults: /events alone answers 502', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-faults-502-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(6, 6));
    city = await ClusterNode.start(path.join(dir, 'city'), {
      node: { id: 'city', title: 'city' },
      layers: [{ id: 'parcels', source: '../parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 12 }],
    });
    await city.publish('parcels');
    proxy = await CountingProxy.start(city.url);
    proxy.eventsStatus = 502;
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      mirrors: [{ upstream: proxy.url, pollSeconds: 0.3, retryMaxSeconds: 0.4 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('copies what the upstream publishes, and /mirrors shows the upstream as it is', async () => {
    await waitFor('county to copy 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(6, 7));
    expect(await city.publish('parcels')).toMatchObject({ version: '1.1.0' });
    await waitFor('county to follow 1.1.0 while /events answers 502', async () => ((await currentVersion(county.url, 'parcels')) === '1.1.0' ? true : undefined));
    expect(await tileHashes(county.url, 'parcels', '1.1.0')).toEqual(await tileHashes(city.url, 'parcels', '1.1.0'));
    const status = await waitFor('/mirrors to show the city at 1.1.0', async () => {
      const s = (await getJson<{ mirrors: Record<string, unknown>[] }>(`${county.url}/mirrors`)).mirrors[0];
      return s?.lagVersions === 0 && (s.layers as { upstreamVersion: string }[])[0]?.upstreamVersion === '1.1.0' ? s : undefined;
    });
    expect(status).toMatchObject({ state: 'following', mode: 'polling', lagVersions: 0 });
    expect(proxy.records.filter((r) => r.path === '/events' && r.status === 502).length).toBeGreaterThanOrEqual(2);
    await waitFor('the county to log that it polls meanwhile', async () => (/the event stream fails; polling \/changes until it answers/.test(county.logs) ? true : undefined));
    expect(countLines(county.logs, 'the event stream fails')).toBe(1);

    // The proxy is fixed: the next retry opens the stream, and the mirror follows by events again.
    proxy.eventsStatus = null;
    await waitFor('the mirror to follow by events', async () => ((await mirrorState(county.url)) as { mode?: string } | undefined)?.mode === 'events' ? true : undefined);
  });
});

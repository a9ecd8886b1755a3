import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mirror } from '../../pipeline/mirror/mirror.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { ClusterNode, currentVersion, getJson, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

interface MirrorsBody {
  mirrors: {
    state: string; mode: string; lastEventSeq: number | null; lastSyncAt: string | null; lagVersions: number;
    layers: { layer: string; version: string | null; upstreamVersion: string | null; lagVersions: number }[];
  }[];
}

const layer = (id: string): Record<string, unknown> => ({ id, source: `../${id}.geojson`, idField: 'BSM', minzoom: 8, maxzoom: 12 });
const mirrorState = async (url: string): Promise<MirrorsBody['mirrors'][number] | undefined> => (await getJson<MirrorsBody>(`${url}/mirrors`)).mirrors[0];

// A county that polls /changes while its city's store is restored from an older copy: the
// city's sequence numbers go back, and /changes hands the county a cursor below its own.
describe('mirror recovery: the upstream store restored from an older copy', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;
  const store = (): string => path.join(city.dir, 'store');
  const backup = (): string => path.join(dir, 'city-store-backup');

  beforeAll(async () => {
    dir = makeTempDir('plantiles-recovery-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(8, 8));
    writeGeojson(path.join(dir, 'roads.geojson'), makeParcels(3, 3));
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'city', title: 'city' }, layers: [layer('parcels'), layer('roads')] });
    await city.publish('parcels');
    // The backup: parcels 1.0.0, sequence number 1.
    await city.stop();
    cpSync(store(), backup(), { recursive: true });
    await city.restart();
    proxy = await CountingProxy.start(city.url);
    proxy.blockEvents = true;
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      mirrors: [{ upstream: proxy.url, layers: ['parcels'], pollSeconds: 0.3, retryMaxSeconds: 0.5 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('takes the lower cursor /changes hands back and copies what the restored upstream publishes', async () => {
    await waitFor('county to copy parcels 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    // Other layers move the city's sequence on (roads is not followed; its events still move the cursor).
    await city.publish('roads');
    writeGeojson(path.join(dir, 'roads.geojson'), makeParcels(3, 4));
    await city.publish('roads');
    await waitFor('the county cursor at 3', async () => ((await mirrorState(county.url))?.lastEventSeq === 3 ? true : undefined));

    const before = (await mirrorState(county.url))?.lastSyncAt;
    await city.stop();
    rmSync(store(), { recursive: true, force: true });
    cpSync(backup(), store(), { recursive: true });
    await city.restart();
    // Let the county see the restored city and finish a pass over its catalog (parcels 1.0.0: in step).
    await waitFor('a pass after the restore', async () => {
      const s = await mirrorState(county.url);
      return s?.state === 'following' && s.lastSyncAt !== before ? true : undefined;
    });
    expect(await currentVersion(county.url, 'parcels')).toBe('1.0.0');

    // The restored city publishes 1.1.0 with sequence number 2, below the county's cursor of 3.
    const p = makeParcels(8, 8);
    const props = p.features[3]?.properties;
    if (props) props.TBMJ = 4242;
    writeGeojson(path.join(dir, 'parcels.geojson'), p);
    expect(await city.publish('parcels')).toMatchObject({ state: 'published', version: '1.1.0' });
    await waitFor('county to copy 1.1.0 from the restored city', async () => ((await currentVersion(county.url, 'parcels')) === '1.1.0' ? true : undefined));
    expect(await tileHashes(county.url, 'parcels', '1.1.0')).toEqual(await tileHashes(city.url, 'parcels', '1.1.0'));
    const status = await waitFor('the cursor to follow the city', async () => {
      const s = await mirrorState(county.url);
      return s?.lastEventSeq === 2 ? s : undefined;
    });
    expect(status).toMatchObject({ mode: 'polling', state: 'following', lagVersions: 0 });
    expect(status.layers).toEqual([expect.objectContaining({ layer: 'parcels', version: '1.1.0', upstreamVersion: '1.1.0', lagVersions: 0 })]);
    expect(proxy.records.some((r) => r.path === '/changes?since=3')).toBe(true);
    await waitFor('the county to log the cursor going back', async () => (/change feed went back/.test(county.logs) ? true : undefined));
  });

  it('refuses the restored upstream\'s new version of a tag it holds with other tiles, and copies the next one', async () => {
    // The county holds 1.1.0 (TBMJ 4242). Restore the city again: it is back at 1.0.0, the county follows it back.
    await city.stop();
    rmSync(store(), { recursive: true, force: true });
    cpSync(backup(), store(), { recursive: true });
    await city.restart();
    await waitFor('county back at 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    // The restored city publishes another 1.1.0: same tag, other tiles.
    const p = makeParcels(8, 8);
    const props = p.features[5]?.properties;
    if (props) props.TBMJ = 777;
    writeGeojson(path.join(dir, 'parcels.geojson'), p);
    expect(await city.publish('parcels')).toMatchObject({ state: 'published', version: '1.1.0' });
    const refused = await waitFor('the county to refuse the other 1.1.0', async () => {
      const s = (await getJson<{ mirrors: { lastError: { message: string } | null }[] }>(`${county.url}/mirrors`)).mirrors[0];
      return s?.lastError && /is not the 1\.1\.0 held here/.test(s.lastError.message) ? s.lastError.message : undefined;
    });
    expect(refused).toMatch(/was the upstream's store restored from an older copy\?/);
    expect(await currentVersion(county.url, 'parcels')).toBe('1.0.0');
    // A new publish upstream gives the layer a new tag, which the county copies.
    if (props) props.TBMJ = 778;
    writeGeojson(path.join(dir, 'parcels.geojson'), p);
    expect(await city.publish('parcels')).toMatchObject({ state: 'published', version: '1.2.0' });
    await waitFor('county to copy 1.2.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.2.0' ? true : undefined));
    expect(await tileHashes(county.url, 'parcels', '1.2.0')).toEqual(await tileHashes(city.url, 'parcels', '1.2.0'));
  });
});

// A mirror that polls because /events is not an event stream tries the stream again every
// 5 minutes (here on an injected clock); when that fails again and it goes back to polling,
// it runs a catch-up pass, as after any change in how it follows.
describe('mirror recovery: back to polling after the event stream is tried again', () => {
  let dir: string;
  let city: ClusterNode;
  let proxy: CountingProxy;
  let store: SqliteStore;
  let mirror: Mirror;
  let skipped = 0;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-recovery-retry-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(4, 4));
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'city', title: 'city' }, layers: [layer('parcels')] });
    await city.publish('parcels');
    proxy = await CountingProxy.start(city.url);
    proxy.blockEvents = true;
    store = openSqliteStore(path.join(dir, 'county'));
    mirror = new Mirror(
      { upstream: proxy.url, layers: ['*'], prefix: '', concurrency: 4, pollSeconds: 0.2, retryMaxSeconds: 0.3 },
      { store, nodeId: 'county', keepVersions: 5, logger: pino({ level: 'silent' }), now: () => performance.now() + skipped },
    );
    mirror.start();
  });
  afterAll(async () => {
    await mirror?.stop();
    store?.close();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('runs a catalog pass when the retried event stream fails and it polls again', async () => {
    await waitFor('the mirror to copy 1.0.0 by polling', async () => {
      const s = mirror.status();
      return s.mode === 'polling' && s.lastSyncAt !== null && s.layers[0]?.version === '1.0.0' ? true : undefined;
    });
    expect(proxy.records.filter((r) => r.path === '/events')).toHaveLength(1);
    skipped += 6 * 60_000;
    // Passes asked for while it started may still be on the wire: only a GET /catalog after the retry counts.
    const catalogAfterRetry = (): boolean => {
      const retry = proxy.records.map((r) => r.path).lastIndexOf('/events');
      return proxy.records.slice(retry + 1).some((r) => r.path === '/catalog');
    };
    await waitFor('the event stream to be tried again', async () => (proxy.records.filter((r) => r.path === '/events').length === 2 ? true : undefined));
    await waitFor('a catalog pass after going back to polling', async () => (catalogAfterRetry() ? true : undefined));
    expect(mirror.status()).toMatchObject({ mode: 'polling', state: 'following', lastError: null });
  });
});

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode, currentVersion, getJson, tileHashes, waitFor } from '../helpers/cluster.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

interface MirrorsBody { mirrors: { mode: string; state: string; lagSeconds: number; lagVersions: number; lastError: unknown }[] }
interface Catalog { layers: { id: string; versions: { version: string; publishedAt: string }[] }[] }

/** The upstream's clock, as the county sees it: years off, and going backwards from one publish to the next. */
function skew(publishedAt: string, version: string): string {
  const minor = Number(version.split('.')[1] ?? 0);
  return new Date(Date.parse('2031-06-01T00:00:00Z') - minor * 86_400_000 * 400 + (Date.parse(publishedAt) % 1000)).toISOString();
}

function skewBody(body: unknown): unknown {
  const b = body as { layers?: { versions?: { version: string; publishedAt: string }[] }[]; events?: { version: string; publishedAt: string }[] };
  for (const l of b.layers ?? []) for (const v of l.versions ?? []) v.publishedAt = skew(v.publishedAt, v.version);
  for (const e of b.events ?? []) e.publishedAt = skew(e.publishedAt, e.version);
  return body;
}

// An upstream reached through something that does not pass Server-Sent Events, with a clock far
// from the county's own: the county polls /changes and orders versions by the upstream's pointer.
describe('mirror: polling /changes, clock skew', () => {
  let dir: string;
  let city: ClusterNode;
  let county: ClusterNode;
  let proxy: CountingProxy;

  const publish = async (tbmj: number): Promise<string> => {
    const fc = makeParcels(8, 8);
    const p = fc.features[5]?.properties;
    if (p) p.TBMJ = tbmj;
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    return (await city.publish('parcels')).version;
  };

  beforeAll(async () => {
    dir = makeTempDir('plantiles-polling-');
    city = await ClusterNode.start(path.join(dir, 'city'), {
      node: { id: 'city', title: 'city' },
      layers: [{ id: 'parcels', source: '../parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 12 }],
    });
    await publish(1);
    proxy = await CountingProxy.start(city.url);
    proxy.blockEvents = true;
    proxy.rewriteJson = (_path, body) => skewBody(body);
    county = await ClusterNode.start(path.join(dir, 'county'), {
      node: { id: 'county', title: 'county' },
      mirrors: [{ upstream: proxy.url, pollSeconds: 0.3, retryMaxSeconds: 0.5 }],
    });
  });
  afterAll(async () => {
    await county?.stop();
    await city?.stop();
    await proxy?.close();
    removeDir(dir);
  });

  it('falls back to polling /changes when /events is unavailable', async () => {
    await waitFor('county to copy 1.0.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.0.0' ? true : undefined));
    const status = (await getJson<MirrorsBody>(`${county.url}/mirrors`)).mirrors[0];
    expect(status).toMatchObject({ mode: 'polling', state: 'following', lastError: null });
    // Log lines reach stdout in blocks, within half a second.
    await waitFor('the county to log that it polls', async () => (/no event stream, polling \/changes/.test(county.logs) ? true : undefined));
    expect(proxy.records.filter((r) => r.path === '/events')).toHaveLength(1);
    expect(await publish(2)).toBe('1.1.0');
    await waitFor('county to follow 1.1.0 by polling', async () => ((await currentVersion(county.url, 'parcels')) === '1.1.0' ? true : undefined));
    expect(proxy.records.some((r) => r.path.startsWith('/changes?since='))).toBe(true);
  });

  it('follows versions in the upstream order even when its timestamps run backwards', async () => {
    expect(await publish(3)).toBe('1.2.0');
    await waitFor('county to follow 1.2.0', async () => ((await currentVersion(county.url, 'parcels')) === '1.2.0' ? true : undefined));
    const versions = (await getJson<Catalog>(`${county.url}/catalog`)).layers[0]?.versions ?? [];
    expect(versions.map((v) => v.version)).toEqual(['1.2.0', '1.1.0', '1.0.0']);
    // The county keeps the upstream's publishedAt as is: here 1.2.0 claims to be older than 1.1.0.
    const at = Object.fromEntries(versions.map((v) => [v.version, Date.parse(v.publishedAt)]));
    expect(at['1.2.0']).toBeLessThan(at['1.1.0'] ?? 0);
    expect(await tileHashes(county.url, 'parcels', '1.2.0')).toEqual(await tileHashes(city.url, 'parcels', '1.2.0'));
    // Lag is measured on the county's own clock, so a skewed upstream never makes it negative or huge.
    const status = (await getJson<MirrorsBody>(`${county.url}/mirrors`)).mirrors[0];
    expect(status).toMatchObject({ lagVersions: 0, lagSeconds: 0 });
  });
});

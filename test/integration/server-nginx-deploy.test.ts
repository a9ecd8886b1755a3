import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyConf, startNginx } from '../../bench/serving-nginx.js';
import { freePort, waitForHttp, type BenchProcess } from '../../bench/serving-procs.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { collectSse } from '../helpers/sse.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

const hasNginx = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).status === 0;

// docs/deploy/plantiles.nginx.conf, run as documented (its ports and cache folder replaced) in front of
// two plantiles processes on one data directory.
describe.skipIf(!hasNginx)('the documented nginx deployment (skipped without nginx: apt-get install nginx)', () => {
  let dir: string;
  let source: string;
  let writer: TestNode;
  let reader: TestNode;
  let nginx: BenchProcess;
  let url: string;
  const t = tileForLonLat(115.99, 36.45, 12);
  const get = (p: string, headers: Record<string, string> = {}): Promise<Response> => fetch(url + p, { headers });

  beforeAll(async () => {
    dir = makeTempDir();
    source = path.join(dir, 'parcels.geojson');
    writeGeojson(source, makeParcels());
    const config = writeConfig(dir, { ...parcelConfig(), server: { tileMaxAge: 1 } });
    writer = await startTestNode(config);
    reader = await startTestNode(config);
    await writer.publish('parcels');
    // The reader learns of the publish by polling (within a second); a request nginx sends it before then would be a 404.
    reader.rt.feed.poll(true);
    const port = await freePort();
    const prefix = path.join(dir, 'nginx');
    nginx = startNginx('nginx', prefix, proxyConf(prefix, port, [Number(new URL(writer.url).port), Number(new URL(reader.url).port)]));
    url = `http://127.0.0.1:${port}`;
    await waitForHttp('nginx', `${url}/healthz`);
  });
  afterAll(async () => {
    await nginx?.stop();
    await reader?.stop();
    await writer?.stop();
    removeDir(dir);
  });

  it('caches a versioned tile for a year: a miss, then hits with the same bytes, headers and ETag', async () => {
    const p = `/tiles/parcels@1.0.0/12/${t.x}/${t.y}.mvt`;
    const direct = await fetch(writer.url + p, { headers: { 'accept-encoding': 'gzip' } });
    const first = await get(p, { 'accept-encoding': 'gzip' });
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    await first.arrayBuffer();
    // nginx files the response into its cache once it has it all; on a busy machine give it a moment.
    let second = await get(p, { 'accept-encoding': 'gzip, deflate, br' });
    for (let i = 0; i < 20 && second.headers.get('x-cache-status') !== 'HIT'; i++) {
      await second.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
      second = await get(p, { 'accept-encoding': 'gzip, deflate, br' });
    }
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    // The request id plantiles gave the first request is not handed to the others.
    expect(direct.headers.get('x-request-id')).toBeTruthy();
    expect(first.headers.get('x-request-id')).toBeNull();
    expect(second.headers.get('x-request-id')).toBeNull();
    expect(second.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(second.headers.get('content-encoding')).toBe('gzip');
    expect(second.headers.get('etag')).toBe(direct.headers.get('etag'));
    expect(Buffer.from(await second.arrayBuffer()).equals(Buffer.from(await direct.arrayBuffer()))).toBe(true);
    const notModified = await get(p, { 'accept-encoding': 'gzip', 'if-none-match': direct.headers.get('etag') ?? '' });
    expect(notModified.status).toBe(304);
  });

  it('links to itself with its port, and never answers one Host with TileJSON cached for another', async () => {
    /** GET with a raw Host header (fetch does not let one be set). */
    const withHost = (p: string, host: string): Promise<string> => new Promise((resolve, reject) => {
      request(url + p, { headers: { host } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve(body));
      }).on('error', reject).end();
    });
    const p = '/tiles/parcels@1.0.0.json';
    const poisoned = JSON.parse(await withHost(p, 'evil.example')) as { tiles: string[] };
    expect(poisoned.tiles[0]).toBe('http://evil.example/tiles/parcels@1.0.0/{z}/{x}/{y}.mvt');
    for (let i = 0; i < 3; i++) {
      const res = await get(p);
      expect(((await res.json()) as { tiles: string[] }).tiles[0]).toBe(`${url}/tiles/parcels@1.0.0/{z}/{x}/{y}.mvt`);
    }
    expect((await get(p)).headers.get('x-cache-status')).toBe('HIT');
  });

  it('keeps the plain body apart for clients without gzip', async () => {
    const p = `/tiles/parcels@1.0.0/12/${t.x}/${t.y}.pbf`;
    await get(p, { 'accept-encoding': 'gzip' });
    await get(p, { 'accept-encoding': 'identity' });
    const plain = await get(p, { 'accept-encoding': 'identity' });
    expect(plain.headers.get('x-cache-status')).toBe('HIT');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('keeps a current tile only for its max-age, then serves the new version', async () => {
    const p = `/tiles/parcels/12/${t.x}/${t.y}.mvt`;
    expect((await get(p)).headers.get('x-tile-version')).toBe('1.0.0');
    expect((await get(p)).headers.get('x-cache-status')).toBe('HIT');
    const fc = makeParcels();
    const ring = fc.features[4]?.geometry.coordinates[0];
    if (ring) ring[2] = [115.9905, 36.4395];
    writeGeojson(source, fc);
    await writer.publish('parcels');
    reader.rt.feed.poll(true);
    await new Promise((r) => setTimeout(r, 2100));
    const after = await get(p);
    expect(after.headers.get('x-tile-version')).toBe('1.1.0');
    expect(after.headers.get('cache-control')).toBe('public, max-age=1');
  });

  it('passes the event stream through unbuffered, and the request id from nginx to plantiles', async () => {
    const pending = collectSse(`${url}/events`, 1, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const fc = makeParcels();
    const p = fc.features[7]?.properties;
    if (p) p.TBMJ = 1;
    writeGeojson(source, fc);
    const result = await writer.publish('parcels');
    reader.rt.feed.poll(true);
    const [event] = await pending;
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ layer: 'parcels', version: result.version });
    expect((await get('/catalog')).headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});

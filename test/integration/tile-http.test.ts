import { request } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { decodeTile } from '../helpers/mvt.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

// The status and header table of SPEC §3.3 for tiles and TileJSON, one row per test.
describe('tile HTTP: statuses and headers', () => {
  let dir: string;
  let node: TestNode;
  const z = 12;
  const t = tileForLonLat(115.99, 36.45, z);
  const tilePath = (spec: string, ext = 'mvt'): string => `/tiles/${spec}/${z}/${t.x}/${t.y}.${ext}`;

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startTestNode(writeConfig(dir, parcelConfig()));
    await node.publish('parcels');
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  const get = (p: string, headers: Record<string, string> = {}): Promise<Response> => fetch(node.url + p, { headers });

  it('serves a gzip tile with ETag "<hash>.gz", Vary, immutable cache and X-Tile-Version for a versioned URL', async () => {
    const res = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('x-tile-version')).toBe('1.0.0');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}\.gz"$/);
    // fetch decompresses transparently; the bytes must decode as MVT with our layer.
    const layers = decodeTile(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(layers)).toEqual(['parcels']);
  });

  it('serves the plain body with ETag "<hash>" when gzip is not accepted, and both share the hash', async () => {
    const plain = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-encoding')).toBeNull();
    const gz = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('etag')).toBe(plain.headers.get('etag')?.replace(/"$/, '.gz"'));
    const features = decodeTile(new Uint8Array(await plain.arrayBuffer())).parcels?.features ?? [];
    expect(features.length).toBeGreaterThan(0);
    expect(features.map((f) => f.properties.DLMC)).toContain('水浇地');
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const first = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'gzip' });
    const etag = first.headers.get('etag') ?? '';
    const again = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'gzip', 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    const otherRep = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'identity', 'if-none-match': etag });
    expect(otherRep.status).toBe(200);
  });

  it('gives the current tile a short max-age and the same bytes as the versioned one', async () => {
    const cur = await get(tilePath('parcels'), { 'accept-encoding': 'gzip' });
    expect(cur.status).toBe(200);
    expect(cur.headers.get('cache-control')).toBe('public, max-age=60');
    expect(cur.headers.get('x-tile-version')).toBe('1.0.0');
    const ver = await get(tilePath('parcels@1.0.0'), { 'accept-encoding': 'gzip' });
    expect(cur.headers.get('etag')).toBe(ver.headers.get('etag'));
  });

  it('accepts .pbf and %40 for @', async () => {
    const pbf = await get(tilePath('parcels@1.0.0', 'pbf'));
    expect(pbf.status).toBe(200);
    const encoded = await get(tilePath('parcels%401.0.0'));
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('x-tile-version')).toBe('1.0.0');
  });

  it('refuses an encoded slash (%2F) as a path separator, on tiles and diffs', async () => {
    const slashed = tilePath('parcels').replace(/\//g, '%2F').replace(/^%2Ftiles%2F/, '/tiles/');
    expect(slashed).toMatch(/^\/tiles\/parcels%2F\d+%2F/);
    for (const url of [slashed, '/tiles/parcels@1.0.0%2Fdiff%2F0.0.0']) {
      const res = await get(url);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/encoded slash/);
    }
  });

  it('answers 204 for an empty tile inside the zoom range', async () => {
    const res = await get('/tiles/parcels/12/0/0.mvt');
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tile-version')).toBe('1.0.0');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
  });

  it.each([
    ['an unknown layer', '/tiles/nosuch/12/0/0.mvt'],
    ['an unknown version', '/tiles/parcels@9.9.9/12/0/0.mvt'],
    ['a zoom above the range', `/tiles/parcels/14/${t.x * 4}/${t.y * 4}.mvt`],
    ['a zoom below the range', '/tiles/parcels/3/0/0.mvt'],
    ['an unknown TileJSON version', '/tiles/parcels@2.0.0.json'],
  ])('answers 404 for %s with a JSON error', async (_name, p) => {
    const res = await get(p);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: string };
    expect(typeof body.error).toBe('string');
  });

  it.each([
    ['a non-integer z', '/tiles/parcels/1.5/0/0.mvt'],
    ['a negative x', '/tiles/parcels/12/-1/0.mvt'],
    ['x >= 2^z', '/tiles/parcels/12/4096/0.mvt'],
    ['y >= 2^z', '/tiles/parcels/12/0/4096.mvt'],
    ['z > 30', '/tiles/parcels/31/0/0.mvt'],
    ['a version that is not semver', '/tiles/parcels@latest/12/0/0.mvt'],
    ['a layer id outside the pattern', '/tiles/..%2Fetc/12/0/0.mvt'],
    ['a bad extension', '/tiles/parcels/12/0/0.png'],
    ['malformed percent-encoding', '/tiles/parcels%E0%A4%A/12/0/0.mvt'],
  ])('answers 400 for %s', async (_name, p) => {
    const res = await get(p);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0);
  });

  it('serves TileJSON 3.0.0 whose tiles URL carries the version, absolute', async () => {
    const res = await get('/tiles/parcels.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const tj = (await res.json()) as Record<string, unknown>;
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.version).toBe('1.0.0');
    expect(tj.tiles).toEqual([`${node.url}/tiles/parcels@1.0.0/{z}/{x}/{y}.mvt`]);
    expect(tj.minzoom).toBe(8);
    expect(tj.maxzoom).toBe(13);
    expect(tj.vector_layers).toEqual([
      expect.objectContaining({ id: 'parcels', fields: { BSM: 'String', DLBM: 'String', DLMC: 'String', TBMJ: 'Number', XZQDM: 'String' } }),
    ]);
    const versioned = await get('/tiles/parcels@1.0.0.json');
    expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('builds URLs from X-Forwarded-* only when trustProxy is on (it is off here)', async () => {
    const res = await get('/tiles/parcels.json', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    const tj = (await res.json()) as { tiles: string[] };
    expect(tj.tiles[0]?.startsWith(node.url)).toBe(true);
  });

  it('builds links only from a Host that is a host name: a path, spaces or markup in it are a 400', async () => {
    /** GET with a raw Host header (fetch does not let one be set). */
    const withHost = (p: string, host: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
      const req = request(node.url + p, { headers: { host } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject).end();
    });
    for (const host of ['tiles.liaocheng.example', 'tiles.liaocheng.example:8443', '127.0.0.1:8080', '[::1]:8080', 'localhost']) {
      const res = await withHost('/tiles/parcels.json', host);
      expect(res.status, host).toBe(200);
      expect((JSON.parse(res.body) as { tiles: string[] }).tiles[0], host).toBe(`http://${host}/tiles/parcels@1.0.0/{z}/{x}/{y}.mvt`);
    }
    for (const host of ['evil.example/<script>', 'a b', 'x@y', '[::1', 'host:port', '-bad.example']) {
      for (const p of ['/tiles/parcels.json', '/style.json', '/catalog', '/openapi.json']) {
        const res = await withHost(p, host);
        expect(res.status, `${host} ${p}`).toBe(400);
        expect(JSON.parse(res.body), `${host} ${p}`).toMatchObject({ error: expect.stringMatching(/Host/), detail: { host } });
      }
    }
  });

  it('opens CORS and answers preflight', async () => {
    const res = await get(tilePath('parcels@1.0.0'), { origin: 'http://county.example' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('ETag');
    const pre = await fetch(node.url + tilePath('parcels'), { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(204);
    // An upload from another origin's admin client names its file in X-File-Name.
    const upload = await fetch(`${node.url}/admin/layers/parcels/source`, { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type, x-file-name' } });
    expect(upload.status).toBe(204);
    const allowed = (upload.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['authorization', 'content-type', 'x-file-name']) expect(allowed).toContain(h);
  });

  it('lists the layer in /catalog, /style.json and /healthz', async () => {
    const catalog = (await (await get('/catalog')).json()) as { node: { id: string }; layers: { id: string; version: string; versions: unknown[]; tilejson: string }[] };
    expect(catalog.node.id).toBe('testnode');
    expect(catalog.layers).toHaveLength(1);
    expect(catalog.layers[0]).toMatchObject({ id: 'parcels', version: '1.0.0', tilejson: `${node.url}/tiles/parcels.json` });
    const style = (await (await get('/style.json')).json()) as { version: number; sources: Record<string, { url: string }> };
    expect(style.version).toBe(8);
    expect(style.sources.parcels?.url).toBe(`${node.url}/tiles/parcels.json`);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers 405 with Allow for a documented path under a method it does not take', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', tilePath('parcels'), 'GET, HEAD'],
      ['POST', '/catalog', 'GET, HEAD'],
      ['PUT', '/tiles/parcels.json', 'GET, HEAD'],
      ['GET', '/admin/layers/parcels/publish', 'POST'],
      ['DELETE', '/admin/layers/parcels/source', 'PUT'],
    ];
    for (const [method, p, allow] of cases) {
      const res = await fetch(node.url + p, { method });
      expect(res.status, `${method} ${p}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${p}`).toBe(allow);
      expect(await res.json(), `${method} ${p}`).toMatchObject({ error: expect.stringMatching(new RegExp(`^${method} is not allowed here`)) });
    }
    expect((await fetch(`${node.url}/no/such/route`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers an unknown route with a JSON 404, never a 500', async () => {
    const res = await get('/no/such/route');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not found');
  });

  it('stores gzip once: the gzip body served is the stored one and inflates to the plain body', async () => {
    const raw = await fetch(node.url + tilePath('parcels@1.0.0'), { headers: { 'accept-encoding': 'gzip' } });
    const resolved = node.rt.catalog.resolve('parcels', '1.0.0');
    if (resolved.kind !== 'ok') throw new Error('unresolved');
    const stored = node.rt.store.getTile(resolved.version.vid, z, t.x, t.y);
    expect(stored).not.toBeNull();
    const plain = new Uint8Array(await raw.arrayBuffer());
    expect(Buffer.from(gunzipSync(stored?.gz ?? Buffer.alloc(0))).equals(Buffer.from(plain))).toBe(true);
  });
});

describe('links behind a trusted proxy', () => {
  it('takes X-Forwarded-Host and -Proto when trustProxy is on, and refuses a protocol or host it cannot link with', async () => {
    const dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    const node = await startTestNode(writeConfig(dir, { ...parcelConfig(), server: { trustProxy: true } }));
    try {
      await node.publish('parcels');
      const tilejson = (headers: Record<string, string>): Promise<Response> => fetch(`${node.url}/tiles/parcels.json`, { headers });
      const ok = await tilejson({ 'x-forwarded-host': 'tiles.liaocheng.example', 'x-forwarded-proto': 'https' });
      expect(((await ok.json()) as { tiles: string[] }).tiles[0]).toBe('https://tiles.liaocheng.example/tiles/parcels@1.0.0/{z}/{x}/{y}.mvt');
      const gopher = await tilejson({ 'x-forwarded-host': 'tiles.liaocheng.example', 'x-forwarded-proto': 'gopher' });
      expect(gopher.status).toBe(400);
      expect(await gopher.json()).toMatchObject({ error: 'X-Forwarded-Proto must be http or https', detail: { protocol: 'gopher' } });
      const path_ = await tilejson({ 'x-forwarded-host': 'evil.example/x' });
      expect(path_.status).toBe(400);
      expect(await path_.json()).toMatchObject({ error: expect.stringMatching(/X-Forwarded-Host/), detail: { host: 'evil.example/x' } });
    } finally {
      await node.stop();
      removeDir(dir);
    }
  });
});

import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FeatureCollection, LineString } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { hasChromium, launchBrowser } from '../helpers/browser.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { decodeTile } from '../helpers/mvt.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

/** A few project corridors (lines) across the parcel grid. */
function makeRoads(): FeatureCollection<LineString> {
  return {
    type: 'FeatureCollection',
    features: [0, 1, 2].map((i) => ({
      type: 'Feature',
      properties: { BSM: `R${i}`, MC: `道路${i}` },
      geometry: { type: 'LineString', coordinates: [[115.94, 36.432 + i * 0.02], [116.04, 36.436 + i * 0.02]] },
    })),
  };
}

// GET /tiles/{a},{b}/…: composite tiles and TileJSON, like Martin's composite sources.
describe('composite tiles', () => {
  let dir: string;
  let node: TestNode;
  const t = tileForLonLat(115.99, 36.453, 12);
  const get = (p: string, headers: Record<string, string> = {}): Promise<Response> => fetch(node.url + p, { headers });
  const plainOf = async (p: string): Promise<Buffer> => Buffer.from(await (await get(p, { 'accept-encoding': 'identity' })).arrayBuffer());

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    writeGeojson(path.join(dir, 'roads.geojson'), makeRoads());
    const doc = parcelConfig();
    doc.layers = [...(doc.layers as unknown[]), { id: 'roads', title: '重大项目选线', source: 'roads.geojson', idField: 'BSM', minzoom: 10, maxzoom: 14 }];
    node = await startTestNode(writeConfig(dir, doc));
    await node.publish('parcels');
    await node.publish('roads');
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  it('concatenates both layers into one valid tile, equal to the two tiles end to end', async () => {
    const res = await get(`/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`, { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    expect(res.headers.get('x-tile-version')).toBe('parcels@1.0.0,roads@1.0.0');
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const layers = decodeTile(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(layers)).toEqual(['parcels', 'roads']);
    expect(layers.parcels?.features.length).toBeGreaterThan(0);
    expect(layers.roads?.features.map((f) => f.properties.MC)).toContain('道路1');
    const a = await plainOf(`/tiles/parcels@1.0.0/12/${t.x}/${t.y}.mvt`);
    const b = await plainOf(`/tiles/roads@1.0.0/12/${t.x}/${t.y}.mvt`);
    expect((await plainOf(`/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`)).equals(Buffer.concat([a, b]))).toBe(true);
    expect((await plainOf(`/tiles/roads,parcels/12/${t.x}/${t.y}.mvt`)).equals(Buffer.concat([b, a]))).toBe(true);
  });

  it('sends one gzip member that inflates to the plain body, with ETags derived from the component hashes', async () => {
    const raw = await get(`/tiles/parcels@1.0.0,roads@1.0.0/12/${t.x}/${t.y}.mvt`, { 'accept-encoding': 'gzip' });
    expect(raw.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const gzEtag = raw.headers.get('etag') ?? '';
    expect(gzEtag).toMatch(/^"[0-9a-f]{32}\.gz"$/);
    const plain = await get(`/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`, { 'accept-encoding': 'identity' });
    expect(plain.headers.get('etag')).toBe(gzEtag.replace('.gz"', '"'));
    const other = await get(`/tiles/roads,parcels/12/${t.x}/${t.y}.mvt`, { 'accept-encoding': 'gzip' });
    expect(other.headers.get('etag')).not.toBe(gzEtag);
    const again = await get(`/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`, { 'accept-encoding': 'gzip', 'if-none-match': gzEtag });
    expect(again.status).toBe(304);
    // Read the compressed bytes as sent: node's http client does not inflate.
    const { request } = await import('node:http');
    const body = await new Promise<Buffer>((resolve, reject) => {
      request(`${node.url}/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
      }).on('error', reject).end();
    });
    expect(gunzipSync(body).equals(Buffer.from(await plain.arrayBuffer()))).toBe(true);
  });

  it('serves the one layer with data as it is, and 204 where neither has data', async () => {
    const z14 = tileForLonLat(115.99, 36.453, 14);
    const res = await get(`/tiles/parcels,roads/14/${z14.x}/${z14.y}.mvt`, { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    const only = await get(`/tiles/roads/14/${z14.x}/${z14.y}.mvt`, { 'accept-encoding': 'gzip' });
    expect(res.headers.get('etag')).toBe(only.headers.get('etag'));
    expect(Object.keys(decodeTile(new Uint8Array(await res.arrayBuffer())))).toEqual(['roads']);
    expect((await get('/tiles/parcels,roads/12/0/0.mvt')).status).toBe(204);
  });

  it.each([
    ['a zoom outside every layer', 404, '/tiles/parcels,roads/3/0/0.mvt'],
    ['an unknown layer', 404, '/tiles/parcels,nosuch/12/0/0.mvt'],
    ['an unknown version', 404, '/tiles/parcels,roads@9.0.0/12/0/0.mvt'],
    ['a layer named twice', 400, '/tiles/parcels,parcels/12/0/0.mvt'],
    ['an empty member', 400, '/tiles/parcels,/12/0/0.mvt'],
    ['a composite diff', 400, '/tiles/parcels@1.0.0,roads@1.0.0/diff/1.0.0'],
  ])('answers %s with %i', async (_name, status, p) => {
    const res = await get(p);
    expect(res.status).toBe(status);
    expect(typeof ((await res.json()) as { error: string }).error).toBe('string');
  });

  it('describes the composite in TileJSON: versions pinned, every vector layer, zoom and bounds spanning both', async () => {
    const res = await get('/tiles/parcels,roads.json');
    expect(res.status).toBe(200);
    const tj = (await res.json()) as Record<string, unknown>;
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.tiles).toEqual([`${node.url}/tiles/parcels@1.0.0,roads@1.0.0/{z}/{x}/{y}.mvt`]);
    expect((tj.vector_layers as { id: string }[]).map((l) => l.id)).toEqual(['parcels', 'roads']);
    expect(tj).toMatchObject({ minzoom: 8, maxzoom: 14, 'plantiles:versions': { parcels: '1.0.0', roads: '1.0.0' } });
    const [w, s, e, n] = tj.bounds as number[];
    expect(w).toBeLessThanOrEqual(115.94);
    expect(e).toBeGreaterThanOrEqual(116.03);
    expect(s).toBeLessThanOrEqual(36.43);
    expect(n).toBeGreaterThanOrEqual(36.476);
    const pinned = await get('/tiles/parcels%401.0.0,roads@1.0.0.json');
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it.skipIf(!hasChromium)('is accepted by a browser: its fetch inflates the gzip body to the plain tile (skipped where chromium is missing)', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${node.url}/healthz`);
      const url = `/tiles/parcels,roads/12/${t.x}/${t.y}.mvt`;
      const seen = await page.evaluate(async (u) => {
        const r = await fetch(u, { cache: 'no-store' });
        return { status: r.status, bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
      }, url);
      expect(seen.status).toBe(200);
      expect(Buffer.from(seen.bytes).equals(await plainOf(url))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});

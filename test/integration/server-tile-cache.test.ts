import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { TileCache } from '../../src/server/tile-cache.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { startParcelNode, stopNode, type TestNode } from '../helpers/test-node.js';

describe('hot-tile cache', () => {
  const body = (text: string): Buffer => gzipSync(Buffer.from(text.repeat(50)));

  it('holds a body once per content hash, whatever the addresses that resolve to it', () => {
    const cache = new TileCache();
    const a = cache.set('1/12/3/4', 'h1', body('a'));
    const b = cache.set('2/12/3/4', 'h1', body('a'));
    expect(b).toBe(a);
    expect(cache.entries).toBe(1);
    expect(cache.get('2/12/3/4')).toBe(a);
    expect(cache.get('1/12/3/5')).toBeUndefined();
    expect(cache.set('1/12/3/5', null, null)).toBeNull();
    expect(cache.get('1/12/3/5')).toBeNull();
    expect(a?.etagGz).toBe('"h1.gz"');
    expect(a?.etagPlain).toBe('"h1"');
  });

  it('stays within its byte bound, counting plain copies, and gives recently hit bodies a second chance', () => {
    const cache = new TileCache({ maxBytes: 20_000 });
    const hot = cache.set('hot', 'hot', body('hot tile '));
    if (!hot) throw new Error('no entry');
    for (let i = 0; i < 400; i++) {
      cache.set(`a${i}`, `h${i}`, randomBytes(500));
      expect(cache.get('hot')).toBe(hot);
    }
    expect(cache.size).toBeLessThanOrEqual(20_000);
    expect(cache.entries).toBeLessThan(400);
    expect(cache.get('a0')).toBeUndefined();
    const plain = cache.plainOf(hot);
    expect(plain.toString().startsWith('hot tile hot tile')).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(20_000);
  });

  it('bounds the addresses it remembers', () => {
    const cache = new TileCache({ maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) cache.set(`v/${i}`, null, null);
    expect(cache.get('v/0')).toBeUndefined();
    expect(cache.get('v/999')).toBeNull();
  });
});

describe('hot-tile cache in the server', () => {
  let dir: string;
  let node: TestNode;
  let source: string;
  const t = tileForLonLat(115.955, 36.435, 13);
  const counters = async (): Promise<{ hits: number; misses: number }> => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const read = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { hits: read('plantiles_tile_cache_hits_total'), misses: read('plantiles_tile_cache_misses_total') };
  };

  beforeAll(async () => {
    ({ dir, source, node } = await startParcelNode());
  });
  afterAll(() => stopNode(node, dir));

  it('answers repeated requests from memory: one store read, then hits, for both encodings', async () => {
    const p = `/tiles/parcels@1.0.0/13/${t.x}/${t.y}.mvt`;
    const first = await fetch(node.url + p, { headers: { 'accept-encoding': 'gzip' } });
    const firstBytes = Buffer.from(await first.arrayBuffer());
    const before = await counters();
    for (const enc of ['gzip', 'identity', 'gzip']) {
      const res = await fetch(node.url + p, { headers: { 'accept-encoding': enc } });
      expect(Buffer.from(await res.arrayBuffer()).equals(firstBytes)).toBe(true);
    }
    const after = await counters();
    expect(after.misses).toBe(before.misses);
    expect(after.hits - before.hits).toBe(3);
  });

  it('never serves a cached tile of an older version at the current URL after a publish', async () => {
    const p = `/tiles/parcels/13/${t.x}/${t.y}.mvt`;
    const old = Buffer.from(await (await fetch(node.url + p, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
    const fc = makeParcels();
    const ring = fc.features[0]?.geometry.coordinates[0];
    if (ring) ring[2] = [115.9575, 36.4395];
    writeGeojson(source, fc);
    await node.publish('parcels');
    const res = await fetch(node.url + p, { headers: { 'accept-encoding': 'identity' } });
    expect(res.headers.get('x-tile-version')).toBe('1.1.0');
    expect(Buffer.from(await res.arrayBuffer()).equals(old)).toBe(false);
  });
});

import path from 'node:path';
import type { Feature, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffPages } from '../../src/store/sqlite-diff.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import type { DiffEntry } from '../../src/store/tile-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

type Tiles = Map<string, string>;

/** Every tile of a version, read one by one: the brute force the diff is checked against. */
function allTiles(store: SqliteStore, vid: number): Tiles {
  const out: Tiles = new Map();
  for (const t of store.iterateTiles(vid)) out.set(`${t.z}/${t.x}/${t.y}`, t.hash);
  return out;
}

/** The diff from `from` to `to` by comparing every tile. */
function bruteForce(from: Tiles, to: Tiles): DiffEntry[] {
  const out: DiffEntry[] = [];
  for (const [key, hash] of to) if (from.get(key) !== hash) out.push({ ...coord(key), hash });
  for (const key of from.keys()) if (!to.has(key)) out.push({ ...coord(key), deleted: true });
  return out.sort((a, b) => a.z - b.z || a.x - b.x || a.y - b.y);
}

function loneParcel(bsm: string, lon: number, lat: number): Feature<Polygon> {
  return {
    type: 'Feature', properties: { BSM: bsm, DLBM: '0101', DLMC: '水田', TBMJ: 1, XZQDM: '371502' },
    geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]] },
  };
}

function coord(key: string): { z: number; x: number; y: number } {
  const [z, x, y] = key.split('/').map(Number) as [number, number, number];
  return { z, x, y };
}

// GET /tiles/{layer}@{to}/diff/{from}: a set difference computed in the store, streamed.
describe('version diff', () => {
  let dir: string;
  let node: TestNode;
  let source: string;
  let store: SqliteStore;
  const vid = (version: string): number => {
    const r = node.rt.catalog.resolve('parcels', version);
    if (r.kind !== 'ok') throw new Error(`no ${version}`);
    return r.version.vid;
  };
  const ndjson = async (p: string): Promise<{ status: number; type: string | null; lines: DiffEntry[] }> => {
    const res = await fetch(node.url + p);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), lines: text.split('\n').filter((l) => l).map((l) => JSON.parse(l) as DiffEntry) };
  };

  beforeAll(async () => {
    dir = makeTempDir();
    source = path.join(dir, 'parcels.geojson');
    // 1.0.0: the grid and a lone parcel; 1.1.0: one parcel reshaped, one removed, the lone parcel
    // moved far away. So the diff has changed, added and deleted tiles.
    const base = makeParcels(12, 10);
    writeGeojson(source, { ...base, features: [...base.features, loneParcel('371502999999999998', 116.2, 36.6)] });
    node = await startTestNode(writeConfig(dir, parcelConfig()));
    await node.publish('parcels');
    const fc = makeParcels(12, 10);
    const ring = fc.features[5]?.geometry.coordinates[0];
    if (ring) ring[2] = [116.008, 36.4395];
    fc.features.splice(40, 1);
    fc.features.push(loneParcel('371502999999999999', 116.3, 36.7));
    writeGeojson(source, fc);
    await node.publish('parcels');
    store = openSqliteStore(path.join(dir, 'store'));
  });
  afterAll(async () => {
    store.close();
    await node.stop();
    removeDir(dir);
  });

  it('lists exactly the tiles a brute-force comparison finds, in z/x/y order', async () => {
    const expected = bruteForce(allTiles(store, vid('1.0.0')), allTiles(store, vid('1.1.0')));
    expect(expected.some((e) => 'deleted' in e)).toBe(true);
    expect(expected.some((e) => 'hash' in e)).toBe(true);
    const res = await ndjson('/tiles/parcels@1.1.0/diff/1.0.0');
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/x-ndjson');
    expect(res.lines).toEqual(expected);
  });

  it('describes the way back when `from` is the newer version', async () => {
    const back = bruteForce(allTiles(store, vid('1.1.0')), allTiles(store, vid('1.0.0')));
    expect((await ndjson('/tiles/parcels@1.0.0/diff/1.1.0')).lines).toEqual(back);
  });

  it('gives hashes that are the tiles\' ETags', async () => {
    const { lines } = await ndjson('/tiles/parcels@1.1.0/diff/1.0.0');
    const changed = lines.find((l): l is Extract<DiffEntry, { hash: string }> => 'hash' in l);
    if (!changed) throw new Error('no changed tile');
    const tile = await fetch(`${node.url}/tiles/parcels@1.1.0/${changed.z}/${changed.x}/${changed.y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
    expect(tile.headers.get('etag')).toBe(`"${changed.hash}"`);
  });

  it('is empty from a version to itself, and lists every tile from 0.0.0', async () => {
    expect((await ndjson('/tiles/parcels@1.1.0/diff/1.1.0')).lines).toEqual([]);
    const every = bruteForce(new Map(), allTiles(store, vid('1.1.0')));
    expect((await ndjson('/tiles/parcels@1.1.0/diff/0.0.0')).lines).toEqual(every);
  });

  it('pages through the store without changing the answer, whatever the page size', () => {
    const expected = bruteForce(allTiles(store, vid('1.0.0')), allTiles(store, vid('1.1.0')));
    for (const size of [1, 2, 7, 1000]) expect([...diffPages(store.db, vid('1.0.0'), vid('1.1.0'), size)]).toEqual(expected);
  });

  it.each([
    ['an unknown from-version', 404, '/tiles/parcels@1.1.0/diff/7.0.0'],
    ['an unknown to-version', 404, '/tiles/parcels@7.0.0/diff/1.0.0'],
    ['an unknown layer', 404, '/tiles/nosuch@1.0.0/diff/1.0.0'],
    ['a from that is not semver', 400, '/tiles/parcels@1.1.0/diff/latest'],
    ['no target version', 400, '/tiles/parcels/diff/1.0.0'],
  ])('answers %s with %i', async (_name, status, p) => {
    const res = await fetch(node.url + p);
    expect(res.status).toBe(status);
    expect(typeof ((await res.json()) as { error: string }).error).toBe('string');
  });
});

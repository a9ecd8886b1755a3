import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

describe('publishing versions', () => {
  let dir: string;
  let node: TestNode;
  let source: string;

  beforeEach(async () => {
    dir = makeTempDir();
    source = path.join(dir, 'parcels.geojson');
    writeGeojson(source, makeParcels());
    node = await startTestNode(writeConfig(dir, parcelConfig()));
  });
  afterEach(async () => {
    await node.stop();
    removeDir(dir);
  });

  const tileBytes = async (spec: string, z: number, x: number, y: number): Promise<Buffer> => {
    const res = await fetch(`${node.url}/tiles/${spec}/${z}/${x}/${y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const t = tileForLonLat(115.955, 36.435, 13);

  it('makes 1.0.0, then nothing new for an identical republish', async () => {
    const first = await node.publish('parcels');
    expect(first).toMatchObject({ state: 'published', version: '1.0.0', previous: null });
    const before = await tileBytes('parcels@1.0.0', 13, t.x, t.y);
    const second = await node.publish('parcels');
    expect(second).toMatchObject({ state: 'unchanged', version: '1.0.0', changedTiles: 0 });
    expect(node.rt.store.getLayer('parcels')?.versions.map((v) => v.version)).toEqual(['1.0.0']);
    expect((await tileBytes('parcels@1.0.0', 13, t.x, t.y)).equals(before)).toBe(true);
  });

  it('bumps the minor for a changed feature; the old versioned URL keeps serving the old bytes', async () => {
    await node.publish('parcels');
    const oldBytes = await tileBytes('parcels@1.0.0', 13, t.x, t.y);
    const fc = makeParcels();
    const ring = fc.features[0]?.geometry.coordinates[0];
    if (!ring) throw new Error('fixture');
    ring[2] = [115.9575, 36.4395];
    writeGeojson(source, fc);
    const result = await node.publish('parcels');
    expect(result).toMatchObject({ state: 'published', version: '1.1.0', previous: '1.0.0' });
    expect(result.changedTiles).toBeGreaterThan(0);
    const newBytes = await tileBytes('parcels@1.1.0', 13, t.x, t.y);
    expect(newBytes.equals(oldBytes)).toBe(false);
    expect((await tileBytes('parcels@1.0.0', 13, t.x, t.y)).equals(oldBytes)).toBe(true);
    const current = await fetch(`${node.url}/tiles/parcels/13/${t.x}/${t.y}.mvt`);
    expect(current.headers.get('x-tile-version')).toBe('1.1.0');
    // A tile far from the edit is carried over: same hash, so the same ETag across versions.
    const far = tileForLonLat(116.02, 36.48, 13);
    const a = await fetch(`${node.url}/tiles/parcels@1.0.0/13/${far.x}/${far.y}.mvt`);
    const b = await fetch(`${node.url}/tiles/parcels@1.1.0/13/${far.x}/${far.y}.mvt`);
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
  });

  it('bumps the major when the field set changes', async () => {
    await node.publish('parcels');
    const fc = makeParcels();
    for (const f of fc.features) if (f.properties) f.properties.NEWFIELD = 'x';
    writeGeojson(source, fc);
    expect(await node.publish('parcels')).toMatchObject({ state: 'published', version: '2.0.0', previous: '1.0.0' });
  });

  it('publishes byte-identical tiles from the same source into a fresh store', async () => {
    await node.publish('parcels');
    const dir2 = makeTempDir();
    try {
      writeGeojson(path.join(dir2, 'parcels.geojson'), makeParcels());
      const other = await startTestNode(writeConfig(dir2, parcelConfig()));
      await other.publish('parcels');
      const a = openSqliteStore(path.join(dir, 'store'));
      const b = openSqliteStore(path.join(dir2, 'store'));
      const rows = (s: typeof a): unknown[] => s.db.prepare('SELECT z, x, y, hash FROM tiles ORDER BY z, x, y').all();
      const blobs = (s: typeof a): unknown[] => s.db.prepare('SELECT hash, gz FROM blobs ORDER BY hash').all();
      expect(rows(a).length).toBeGreaterThan(10);
      expect(rows(b)).toEqual(rows(a));
      expect(blobs(b)).toEqual(blobs(a));
      a.close();
      b.close();
      await other.stop();
    } finally {
      removeDir(dir2);
    }
  });

  it('prunes beyond keepVersions (answering 410) and keeps blobs still referenced', async () => {
    const fc = makeParcels();
    for (let i = 0; i < 5; i++) {
      const p = fc.features[i]?.properties;
      if (p) p.TBMJ = 5000 + i;
      writeGeojson(source, fc);
      await node.publish('parcels');
    }
    const versions = node.rt.store.getLayer('parcels')?.versions ?? [];
    expect(versions.filter((v) => v.state === 'live').map((v) => v.version)).toEqual(['1.4.0', '1.3.0', '1.2.0']);
    expect(versions.filter((v) => v.state === 'pruned').map((v) => v.version)).toEqual(['1.1.0', '1.0.0']);
    const gone = await fetch(`${node.url}/tiles/parcels@1.0.0/13/${t.x}/${t.y}.mvt`);
    expect(gone.status).toBe(410);
    expect((await fetch(`${node.url}/tiles/parcels@1.0.0.json`)).status).toBe(410);
    const store = openSqliteStore(path.join(dir, 'store'));
    const orphans = store.db.prepare('SELECT count(*) AS n FROM blobs WHERE hash NOT IN (SELECT hash FROM tiles)').get() as { n: number };
    expect(orphans.n).toBe(0);
    store.close();
  });

  it('rolls back to an older version, records an event, and never reuses a tag', async () => {
    await node.publish('parcels');
    const fc = makeParcels();
    const p = fc.features[3]?.properties;
    if (p) p.DLMC = '旱地（变更）';
    writeGeojson(source, fc);
    await node.publish('parcels');
    const event = node.rt.store.rollback('parcels', '1.0.0');
    node.rt.feed.poll(true);
    expect(event).toMatchObject({ layer: 'parcels', version: '1.0.0', previous: '1.1.0', kind: 'rollback' });
    const res = await fetch(`${node.url}/tiles/parcels/13/${t.x}/${t.y}.mvt`);
    expect(res.headers.get('x-tile-version')).toBe('1.0.0');
    const changes = (await (await fetch(`${node.url}/changes?since=0`)).json()) as { events: { seq: number; version: string }[]; last: number };
    expect(changes.events.map((e) => e.version)).toEqual(['1.0.0', '1.1.0', '1.0.0']);
    expect(changes.last).toBe(changes.events[2]?.seq);
    if (p) p.DLMC = '旱地（再变更）';
    writeGeojson(source, fc);
    expect(await node.publish('parcels')).toMatchObject({ version: '1.2.0', previous: '1.0.0' });
  });

  it('leaves the current version serving when a publish fails, and uses no version number', async () => {
    await node.publish('parcels');
    writeGeojson(source, { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { BSM: 'x' }, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1]]] } }] });
    await expect(node.publish('parcels')).rejects.toThrow(/parcels\.geojson: feature BSM=x: exterior ring has 3 point\(s\)/);
    const res = await fetch(`${node.url}/tiles/parcels/13/${t.x}/${t.y}.mvt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tile-version')).toBe('1.0.0');
    const store = openSqliteStore(path.join(dir, 'store'));
    expect(store.db.prepare("SELECT count(*) AS n FROM versions WHERE state = 'building'").get()).toEqual({ n: 0 });
    expect(store.db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    store.close();
    writeGeojson(source, makeParcels().features.length ? { ...makeParcels(), features: makeParcels().features.slice(1) } : makeParcels());
    expect(await node.publish('parcels')).toMatchObject({ version: '1.1.0' });
  });
});

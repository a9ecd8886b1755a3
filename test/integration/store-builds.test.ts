import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, PAGE_SIZE, STORE_FILE } from '../../src/store/sqlite-store.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

// Opening the store cleans up after crashed publishes, and only after crashed ones.
describe('abandoned builds', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir(); });
  afterEach(() => removeDir(dir));

  const buildingRows = (d: string): number => {
    const s = openSqliteStore(d);
    const n = (s.db.prepare("SELECT count(*) AS n FROM versions WHERE state = 'building'").get() as { n: number }).n;
    s.close();
    return n;
  };

  it('keeps a build that a live process is still writing', () => {
    const writer = openSqliteStore(dir);
    const build = writer.beginBuild('parcels');
    build.putTiles([{ z: 0, x: 0, y: 0, hash: 'a'.repeat(32), gz: Buffer.from([1, 2, 3]), plainSize: 3 }]);
    expect(buildingRows(dir)).toBe(1);
    const tiles = writer.db.prepare('SELECT count(*) AS n FROM tiles').get() as { n: number };
    expect(tiles.n).toBe(1);
    build.abort();
    writer.close();
  });

  it('drops a build whose writing process has exited, with its tiles and blobs', () => {
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(exited.stdout);
    const s = openSqliteStore(dir);
    const vid = Number(s.db.prepare("INSERT INTO versions (layer, state, owner_pid) VALUES ('parcels', 'building', ?)").run(deadPid).lastInsertRowid);
    s.db.prepare('INSERT INTO blobs (hash, gz, plain_size) VALUES (?, ?, 3)').run('b'.repeat(32), Buffer.from([1]));
    s.db.prepare('INSERT INTO tiles (vid, z, x, y, hash) VALUES (?, 0, 0, 0, ?)').run(vid, 'b'.repeat(32));
    s.close();
    const reopened = openSqliteStore(dir);
    expect(reopened.db.prepare('SELECT count(*) AS n FROM versions').get()).toEqual({ n: 0 });
    expect(reopened.db.prepare('SELECT count(*) AS n FROM tiles').get()).toEqual({ n: 0 });
    expect(reopened.db.prepare('SELECT count(*) AS n FROM blobs').get()).toEqual({ n: 0 });
    reopened.close();
  });
});

describe('the store file', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir(); });
  afterEach(() => removeDir(dir));

  it('is made with 16 KiB pages, and an existing file keeps the pages it has', () => {
    const created = openSqliteStore(dir);
    expect(created.db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    created.close();
    const old = path.join(dir, 'old');
    mkdirSync(old);
    const db = new Database(path.join(old, STORE_FILE));
    db.pragma('page_size = 4096');
    db.exec('CREATE TABLE t (x)');
    db.close();
    const reopened = openSqliteStore(old);
    expect(reopened.db.pragma('page_size', { simple: true })).toBe(4096);
    expect(reopened.db.prepare('SELECT count(*) AS n FROM layers').get()).toEqual({ n: 0 });
    reopened.close();
  });
});

// A publish stores a version's feature set in two parts: the fingerprints while its tiles
// are cut, what the budget did once they are. Readers get the two as one.
describe('feature sets', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir(); });
  afterEach(() => removeDir(dir));

  const META = { minzoom: 0, maxzoom: 0, bounds: [0, 0, 1, 1] as [number, number, number, number], center: [0.5, 0.5, 0] as [number, number, number], geometryKind: 'polygon' as const, vectorLayer: 'parcels', fields: {}, featureCount: 1 };
  const DESCRIPTION = { title: 'parcels', attribution: '', style: { color: '#000000', fillOpacity: 0, lineWidth: 1 } };
  const publish = (s: ReturnType<typeof openSqliteStore>, tile: string, head: number[], tail: number[] | null): number => {
    const build = s.beginBuild('parcels');
    build.putTiles([{ z: 0, x: 0, y: 0, hash: tile.repeat(32), gz: Buffer.from(tile), plainSize: 1 }]);
    build.putFeatureSet({ tilingKey: 'k', count: 1, data: Uint8Array.from(head) });
    if (tail) build.appendFeatureSet(Uint8Array.from(tail));
    build.commit(META, 'k', DESCRIPTION);
    return s.getLayer('parcels')?.currentVid ?? -1;
  };

  it('reads a set written in two parts as its two parts, and a set written whole as it was', () => {
    const s = openSqliteStore(dir);
    const whole = publish(s, 'a', [1, 2, 3], null);
    const split = publish(s, 'b', [4, 5], [6, 7, 8]);
    const read = s.readFeatureSet(whole);
    expect([...(read?.data ?? [])]).toEqual([1, 2, 3]);
    expect(read?.tail).toBeUndefined();
    const parts = s.readFeatureSet(split);
    expect([...(parts?.data ?? [])]).toEqual([4, 5]);
    expect([...(parts?.tail ?? [])]).toEqual([6, 7, 8]);
    s.close();
  });

  it('drops both parts with a build that is aborted, unchanged, or abandoned by a process that died', () => {
    const s = openSqliteStore(dir);
    publish(s, 'a', [1], [2]);
    const parts = (): number[] => [
      (s.db.prepare('SELECT count(*) AS n FROM feature_sets').get() as { n: number }).n,
      (s.db.prepare('SELECT count(*) AS n FROM feature_set_tails').get() as { n: number }).n,
    ];
    const aborted = s.beginBuild('parcels');
    aborted.putFeatureSet({ tilingKey: 'k', count: 1, data: Uint8Array.from([3]) });
    aborted.appendFeatureSet(Uint8Array.from([4]));
    aborted.abort();
    expect(parts()).toEqual([1, 1]);
    const same = s.beginBuild('parcels');
    same.putTiles([{ z: 0, x: 0, y: 0, hash: 'a'.repeat(32), gz: Buffer.from('a'), plainSize: 1 }]);
    same.putFeatureSet({ tilingKey: 'k', count: 1, data: Uint8Array.from([5]) });
    same.appendFeatureSet(Uint8Array.from([6]));
    expect(same.commit(META, 'k', DESCRIPTION).state).toBe('unchanged');
    expect(parts()).toEqual([1, 1]);
    // A process that died after storing the fingerprints of its build, before their tail.
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const vid = Number(s.db.prepare("INSERT INTO versions (layer, state, owner_pid) VALUES ('parcels', 'building', ?)").run(Number(exited.stdout)).lastInsertRowid);
    s.db.prepare("INSERT INTO feature_sets (vid, layer, tiling_key, count, data) VALUES (?, 'parcels', 'k', 1, ?)").run(vid, Buffer.from([7]));
    expect(parts()).toEqual([2, 1]);
    s.close();
    const reopened = openSqliteStore(dir);
    expect(reopened.db.prepare('SELECT count(*) AS n FROM feature_sets').get()).toEqual({ n: 1 });
    reopened.close();
  });

  it('removes the tails of sets it removes', () => {
    const s = openSqliteStore(dir);
    const first = publish(s, 'a', [1], [2]);
    s.prune('parcels', 1);
    publish(s, 'b', [3], [4]);
    s.prune('parcels', 1);
    const third = publish(s, 'c', [5], [6]);
    expect(s.readFeatureSet(first)).toBeNull();
    const tails = s.db.prepare('SELECT vid FROM feature_set_tails ORDER BY vid').all() as { vid: number }[];
    expect(tails.map((t) => t.vid)).toEqual([third - 1, third]);
    s.close();
  });
});

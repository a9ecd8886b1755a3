import { gzipSync } from 'node:zlib';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VersionMeta } from '../../src/domain/catalog.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { StoreError } from '../../src/store/store-error.js';
import { openSqliteStore, STORE_FILE, type SqliteStore } from '../../src/store/sqlite-store.js';
import { hashTile } from '../../pipeline/tile/encode-tile.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

const META: VersionMeta = {
  minzoom: 0, maxzoom: 2, bounds: [115, 36, 116, 37], center: [115.5, 36.5, 1], geometryKind: 'polygon',
  vectorLayer: 'parcels', fields: { BSM: 'String' }, featureCount: 1,
};
const DESCRIPTION = { title: 'parcels', attribution: 'city', style: { color: '#3a7d44', fillOpacity: 0.45, lineWidth: 1 } };

function blob(text: string): { hash: string; gz: Buffer; plainSize: number } {
  const plain = Buffer.from(text);
  return { hash: hashTile(plain), gz: gzipSync(plain, { level: 6 }), plainSize: plain.length };
}

// The store side of mirroring, on real SQLite files: staged blobs, imports that keep the
// upstream's tag, the origin that makes a layer read-only, and a migration of older stores.
describe('mirror store: imports, staging, origin', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = makeTempDir('plantiles-mirror-store-');
    store = openSqliteStore(dir);
  });
  afterEach(() => {
    store.close();
    removeDir(dir);
  });

  it('stages blobs that survive a restart, then commits an import with the upstream tag and time', () => {
    const a = blob('tile a');
    const b = blob('tile b');
    expect(store.missingBlobs([a.hash, b.hash])).toEqual([a.hash, b.hash]);
    store.stageBlobs('parcels', [a, b]);
    store.close();
    store = openSqliteStore(dir);
    expect(store.missingBlobs([a.hash, b.hash])).toEqual([]);

    const build = store.beginBuild('parcels', { version: '1.3.0', publishedAt: '2020-01-02T03:04:05.000Z', origin: 'city', expect: { tiles: 2, bytes: a.gz.length + b.gz.length } });
    build.putTileRefs([{ z: 0, x: 0, y: 0, hash: a.hash }, { z: 1, x: 1, y: 0, hash: b.hash }]);
    const result = build.commit(META, 'k', DESCRIPTION);
    expect(result).toMatchObject({ state: 'published', version: '1.3.0', previous: null });
    const layer = store.getLayer('parcels');
    expect(layer?.origin).toBe('city');
    expect(layer?.versions[0]).toMatchObject({ version: '1.3.0', publishedAt: '2020-01-02T03:04:05.000Z', tiles: 2 });
    expect(store.getTile(layer?.currentVid ?? 0, 1, 1, 0)?.gz.equals(b.gz)).toBe(true);
    // Staging is emptied once the version holds the blobs; a prune keeps them since the version uses them.
    expect((store.db.prepare('SELECT count(*) AS n FROM staged_blobs').get() as { n: number }).n).toBe(0);
    expect(store.missingBlobs([a.hash])).toEqual([]);
  });

  it('never switches to an import whose totals differ from the upstream, and never to one missing a blob', () => {
    const a = blob('tile a');
    store.stageBlobs('parcels', [a]);
    const short = store.beginBuild('parcels', { version: '1.0.0', publishedAt: '2020-01-01T00:00:00.000Z', origin: 'city', expect: { tiles: 2, bytes: 999 } });
    short.putTileRefs([{ z: 0, x: 0, y: 0, hash: a.hash }]);
    expect(() => short.commit(META, 'k', DESCRIPTION)).toThrow(/has 1 tiles .* the upstream lists 2/);
    short.abort();
    expect(store.getLayer('parcels')).toBeNull();

    const lacking = store.beginBuild('parcels', { version: '1.0.0', publishedAt: '2020-01-01T00:00:00.000Z', origin: 'city' });
    expect(() => lacking.putTileRefs([{ z: 0, x: 0, y: 0, hash: blob('never fetched').hash }])).toThrow(StoreError);
    lacking.abort();
    expect(store.listLayers()).toEqual([]);
  });

  it('makes a mirrored layer read-only: no local build, no rollback except by the mirror', () => {
    const a = blob('a');
    const b = blob('b');
    for (const [version, t] of [['1.0.0', a], ['1.1.0', b]] as const) {
      // Each import stages what it fetched; its commit empties the layer's staging.
      store.stageBlobs('parcels', [t]);
      const build = store.beginBuild('parcels', { version, publishedAt: '2020-01-01T00:00:00.000Z', origin: 'city' });
      build.putTileRefs([{ z: 0, x: 0, y: 0, hash: t.hash }]);
      build.commit(META, 'k', DESCRIPTION);
    }
    expect(() => store.beginBuild('parcels')).toThrow(/mirrored from node "city" and is read-only here/);
    expect(() => store.rollback('parcels', '1.0.0')).toThrow(/read-only here/);
    expect(store.rollback('parcels', '1.0.0', { byMirror: true })).toMatchObject({ version: '1.0.0', previous: '1.1.0', kind: 'rollback' });
    // A second origin, or an import over a local layer, is refused too.
    expect(() => store.beginBuild('parcels', { version: '1.2.0', publishedAt: '2020-01-01T00:00:00.000Z', origin: 'other' })).toThrow(/not from "other"/);
    const local = store.beginBuild('farmland');
    local.putTiles([{ z: 0, x: 0, y: 0, ...a }]);
    local.commit(META, 'k', DESCRIPTION);
    expect(() => store.beginBuild('farmland', { version: '1.0.0', publishedAt: '2020-01-01T00:00:00.000Z', origin: 'city' })).toThrow(/published on this node/);
  });

  it('lists every tile of a version in the diff from nothing', () => {
    const a = blob('a');
    const build = store.beginBuild('parcels');
    build.putTiles([{ z: 0, x: 0, y: 0, ...a }, { z: 1, x: 0, y: 1, ...a }]);
    build.commit(META, 'k', DESCRIPTION);
    const vid = store.getLayer('parcels')?.currentVid ?? 0;
    expect([...store.diff(null, vid)]).toEqual([{ z: 0, x: 0, y: 0, hash: a.hash }, { z: 1, x: 0, y: 1, hash: a.hash }]);
  });
});

describe('mirror store: migration', () => {
  it('adds the origin column to a store made before mirroring', () => {
    const dir = makeTempDir('plantiles-migrate-');
    try {
      const old = new Database(path.join(dir, STORE_FILE));
      old.exec("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO store_meta VALUES ('schema_version', '1');");
      old.exec('CREATE TABLE layers (id TEXT PRIMARY KEY, title TEXT NOT NULL, attribution TEXT NOT NULL, style TEXT NOT NULL, current_vid INTEGER)');
      old.prepare('INSERT INTO layers VALUES (?, ?, ?, ?, NULL)').run('ubound', '城镇开发边界', 'city', JSON.stringify(DESCRIPTION.style));
      old.close();
      const store = openSqliteStore(dir);
      try {
        expect(store.getLayer('ubound')).toMatchObject({ id: 'ubound', origin: null });
        expect(store.db.prepare("SELECT value FROM store_meta WHERE key = 'schema_version'").pluck().get()).toBe(String(SCHEMA_VERSION));
      } finally {
        store.close();
      }
      // Opening again is a no-op.
      openSqliteStore(dir).close();
    } finally {
      removeDir(dir);
    }
  });
});

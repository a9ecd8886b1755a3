import type Database from 'better-sqlite3';
import type { FeatureSet, TileAddress } from './tile-store.js';

// Per-feature fingerprints kept with each version (table feature_sets, one opaque packed
// blob per version, see sqlite-schema.ts), and the carry-over of a version's unchanged
// tiles into a new build: the store side of incremental republish.

/**
 * Stores the fingerprints of a build (or their first part, see appendFeatureSet). Sets of
 * the layer's versions that were pruned, or that no longer exist (dropped builds remove
 * their own, see dropFeatureSet; older stores did not), are removed here, with their tails.
 */
export function writeFeatureSet(db: Database.Database, vid: number, layer: string, set: FeatureSet): void {
  db.transaction(() => {
    db.prepare(
      "DELETE FROM feature_sets WHERE layer = ? AND vid != ? AND vid NOT IN (SELECT vid FROM versions WHERE layer = ? AND state != 'pruned')",
    ).run(layer, vid, layer);
    db.prepare('DELETE FROM feature_set_tails WHERE vid = ? OR vid NOT IN (SELECT vid FROM feature_sets)').run(vid);
    db.prepare('INSERT OR REPLACE INTO feature_sets (vid, layer, tiling_key, count, data) VALUES (?, ?, ?, ?, ?)')
      .run(vid, layer, set.tilingKey, set.count, asBuffer(set.data));
  }).immediate();
}

/**
 * Adds the rest of a build's feature set, written after its tiles: what the size budget
 * did to them. Writing the fingerprints (48 bytes a feature) while the tiles are cut
 * leaves only this part to the end of a publish.
 */
export function appendFeatureSet(db: Database.Database, vid: number, tail: Uint8Array): void {
  db.prepare('INSERT OR REPLACE INTO feature_set_tails (vid, data) VALUES (?, ?)').run(vid, asBuffer(tail));
}

/**
 * Removes a build's feature set, both parts (a build that is dropped: aborted, unchanged,
 * or abandoned by a process that died while its tiles were cut, after the first part).
 */
export function dropFeatureSet(db: Database.Database, vid: number): void {
  db.prepare('DELETE FROM feature_sets WHERE vid = ?').run(vid);
  db.prepare('DELETE FROM feature_set_tails WHERE vid = ?').run(vid);
}

/** The fingerprints stored with a version, or null when it has none (published before they were kept, or mirrored). */
export function readFeatureSet(db: Database.Database, vid: number): FeatureSet | null {
  const row = db.prepare('SELECT s.tiling_key, s.count, s.data, t.data AS tail FROM feature_sets s LEFT JOIN feature_set_tails t ON t.vid = s.vid WHERE s.vid = ?').get(vid) as
    | { tiling_key: string; count: number; data: Buffer; tail: Buffer | null }
    | undefined;
  if (!row) return null;
  // The two parts as SQLite gives them: joining them would copy tens of megabytes.
  return { tilingKey: row.tiling_key, count: row.count, data: row.data, ...(row.tail ? { tail: row.tail } : {}) };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Copies every tile row of `fromVid` into `toVid` except the tiles in `except` (those are
 * recomputed), in one transaction; blobs are shared by hash, so nothing else is copied.
 * Returns the number of tiles carried over.
 */
export function carryOverTiles(db: Database.Database, fromVid: number, toVid: number, except: readonly TileAddress[]): number {
  return db.transaction((): number => {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS carry_skip (z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL, PRIMARY KEY (z, x, y)) WITHOUT ROWID');
    db.exec('DELETE FROM carry_skip');
    const skip = db.prepare('INSERT OR IGNORE INTO carry_skip (z, x, y) VALUES (?, ?, ?)');
    for (const t of except) skip.run(t.z, t.x, t.y);
    const info = db
      .prepare(
        'INSERT INTO tiles (vid, z, x, y, hash) SELECT ?, t.z, t.x, t.y, t.hash FROM tiles t WHERE t.vid = ? ' +
          'AND NOT EXISTS (SELECT 1 FROM carry_skip s WHERE s.z = t.z AND s.x = t.x AND s.y = t.y)',
      )
      .run(toVid, fromVid);
    db.exec('DELETE FROM carry_skip');
    return info.changes;
  }).immediate();
}

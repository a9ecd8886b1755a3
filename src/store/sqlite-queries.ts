import type Database from 'better-sqlite3';
import type { ChangeEvent } from './tile-store.js';

/** Tiles of version a (first two params: to, from) that differ, then tiles deleted (from, to). */
export const DIFF_SQL = `
SELECT n.z AS z, n.x AS x, n.y AS y, n.hash AS hash FROM tiles n
 WHERE n.vid = ? AND NOT EXISTS (SELECT 1 FROM tiles o WHERE o.vid = ? AND o.z = n.z AND o.x = n.x AND o.y = n.y AND o.hash = n.hash)
UNION ALL
SELECT o.z, o.x, o.y, NULL FROM tiles o
 WHERE o.vid = ? AND NOT EXISTS (SELECT 1 FROM tiles n WHERE n.vid = ? AND n.z = o.z AND n.x = o.x AND n.y = o.y)
ORDER BY 1, 2, 3`;

/** Number of tiles that differ between two versions (added, changed or deleted). */
export function countDiff(db: Database.Database, fromVid: number, toVid: number): number {
  const row = db.prepare(`SELECT count(*) AS n FROM (${DIFF_SQL})`).get(toVid, fromVid, fromVid, toVid) as { n: number };
  return row.n;
}

/** Appends a change event; the caller holds the transaction. */
export function insertEvent(db: Database.Database, e: Omit<ChangeEvent, 'seq'>): ChangeEvent {
  const info = db
    .prepare('INSERT INTO events (layer, version, previous, published_at, changed_tiles, kind) VALUES (?, ?, ?, ?, ?, ?)')
    .run(e.layer, e.version, e.previous, e.publishedAt, e.changedTiles, e.kind);
  return { seq: Number(info.lastInsertRowid), ...e };
}


import type Database from 'better-sqlite3';
import type { DiffEntry, StoredTileAt } from './tile-store.js';

/**
 * One page of a version diff after a z/x/y cursor. Each half walks the tiles
 * primary key (vid, z, x, y) from the cursor and stops at the page size, so a
 * page costs O(page) however large the versions are.
 */
const DIFF_PAGE_SQL = `
SELECT z, x, y, hash FROM (
  SELECT n.z AS z, n.x AS x, n.y AS y, n.hash AS hash FROM tiles n
   WHERE n.vid = @to AND (n.z, n.x, n.y) > (@z, @x, @y)
     AND NOT EXISTS (SELECT 1 FROM tiles o WHERE o.vid = @from AND o.z = n.z AND o.x = n.x AND o.y = n.y AND o.hash = n.hash)
   ORDER BY n.z, n.x, n.y LIMIT @limit)
UNION ALL
SELECT z, x, y, hash FROM (
  SELECT o.z AS z, o.x AS x, o.y AS y, NULL AS hash FROM tiles o
   WHERE o.vid = @from AND (o.z, o.x, o.y) > (@z, @x, @y)
     AND NOT EXISTS (SELECT 1 FROM tiles n WHERE n.vid = @to AND n.z = o.z AND n.x = o.x AND n.y = o.y)
   ORDER BY o.z, o.x, o.y LIMIT @limit)
ORDER BY 1, 2, 3 LIMIT @limit`;

/** Rows per diff page: small enough to keep memory flat, large enough to amortise the query. */
export const DIFF_PAGE_SIZE = 4096;

type DiffRow = { z: number; x: number; y: number; hash: string | null };
type DiffParams = { to: number; from: number | null; z: number; x: number; y: number; limit: number };

/**
 * The tiles that differ between two versions, in z/x/y order, read a page at a
 * time. No statement stays open between pages, so a consumer may await (for
 * socket back-pressure) while the same connection keeps serving tiles.
 * A null fromVid binds as NULL, which no vid equals: every tile of toVid is listed.
 */
export function* diffPages(db: Database.Database, fromVid: number | null, toVid: number, pageSize = DIFF_PAGE_SIZE): IterableIterator<DiffEntry> {
  const stmt = db.prepare<[DiffParams], DiffRow>(DIFF_PAGE_SQL);
  const params: DiffParams = { to: toVid, from: fromVid, z: -1, x: -1, y: -1, limit: pageSize };
  for (;;) {
    const rows = stmt.all(params);
    for (const r of rows) yield r.hash === null ? { z: r.z, x: r.x, y: r.y, deleted: true } : { z: r.z, x: r.x, y: r.y, hash: r.hash };
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    params.z = last.z;
    params.x = last.x;
    params.y = last.y;
  }
}

/** Every tile of a version with its gzip body, in z/x/y order. */
export function iterateVersionTiles(db: Database.Database, vid: number): IterableIterator<StoredTileAt> {
  return db
    .prepare<[number], StoredTileAt>('SELECT t.z AS z, t.x AS x, t.y AS y, t.hash AS hash, b.gz AS gz FROM tiles t JOIN blobs b ON b.hash = t.hash WHERE t.vid = ? ORDER BY t.z, t.x, t.y')
    .iterate(vid);
}

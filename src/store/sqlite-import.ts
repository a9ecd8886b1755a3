import type Database from 'better-sqlite3';
import { parseVersionTag, type VersionTag } from '../domain/version-tag.js';
import { StoreError } from './store-error.js';
import type { ImportOptions, StagedBlob, TileRef } from './tile-store.js';
import { buildConflict, type LayerOwnership } from './build-conflict.js';

/*
 * What a mirror's import needs from the SQLite store besides a normal build: blobs
 * staged outside the garbage-collected `blobs` table while a transfer is under way,
 * tiles added by hash, the upstream's tag kept, and the layer's origin recorded.
 */

/**
 * Refuses a build the layer's origin does not allow: a local build of a mirrored layer,
 * an import over a layer published here, or an import from a second origin.
 */
export function assertBuildAllowed(db: Database.Database, layer: string, imported: ImportOptions | undefined): void {
  const row = db.prepare('SELECT origin, current_vid AS currentVid FROM layers WHERE id = ?').get(layer) as LayerOwnership | undefined;
  const conflict = buildConflict(layer, row ?? null, imported?.origin ?? null);
  if (conflict) throw new StoreError('conflict', conflict);
}

/** Adds tiles by hash to a build in one transaction, promoting staged blobs; a blob found nowhere is an error. */
export function insertTileRefs(db: Database.Database, vid: number, layer: string, refs: readonly TileRef[]): void {
  const has = db.prepare('SELECT 1 FROM blobs WHERE hash = ?');
  const promote = db.prepare('INSERT OR IGNORE INTO blobs (hash, gz, plain_size) SELECT hash, gz, plain_size FROM staged_blobs WHERE hash = ?');
  const insert = db.prepare('INSERT INTO tiles (vid, z, x, y, hash) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of refs) {
      if (has.get(r.hash) === undefined) {
        promote.run(r.hash);
        if (has.get(r.hash) === undefined) {
          throw new StoreError('conflict', `tile ${r.z}/${r.x}/${r.y} of "${layer}" names blob ${r.hash}, which the store does not hold`);
        }
      }
      insert.run(vid, r.z, r.x, r.y, r.hash);
    }
  }).immediate();
}

/**
 * The tag an import commits with: the upstream's. A pruned row with the same tag (the
 * mirror's own retention removed it, then the upstream went back to it) gives way;
 * a live one means the caller should have switched to it instead.
 */
export function importedTag(db: Database.Database, layer: string, imported: ImportOptions): VersionTag {
  const tag = parseVersionTag(imported.version);
  if (!tag) throw new StoreError('conflict', `"${imported.version}" is not a version tag (layer "${layer}")`);
  const existing = db.prepare('SELECT state FROM versions WHERE layer = ? AND version = ?').get(layer, imported.version) as { state: string } | undefined;
  if (existing?.state === 'live') throw new StoreError('conflict', `layer "${layer}" already has version ${imported.version}`);
  if (existing) db.prepare("DELETE FROM versions WHERE layer = ? AND version = ? AND state = 'pruned'").run(layer, imported.version);
  return tag;
}

/** Refuses to switch to an import whose totals differ from the upstream's (a lost or extra tile). */
export function checkImportTotals(layer: string, imported: ImportOptions, totals: { n: number; bytes: number }): void {
  const expect = imported.expect;
  if (!expect || (expect.tiles === totals.n && expect.bytes === totals.bytes)) return;
  // The same count with other bytes: each tile matched its hash when fetched, so the gzip bodies differ.
  const hint = expect.tiles === totals.n
    ? ' (the tiles match their hashes but their gzip bodies differ from the upstream\'s: a proxy between the nodes may decompress or recompress tiles)'
    : '';
  throw new StoreError(
    'conflict',
    `import of "${layer}" ${imported.version} has ${totals.n} tiles (${totals.bytes} bytes); the upstream lists ${expect.tiles} (${expect.bytes} bytes)${hint}`,
  );
}

/** Inside the commit transaction: records the layer's origin and drops its staged blobs (now in `blobs`). */
export function finishImport(db: Database.Database, layer: string, imported: ImportOptions): void {
  db.prepare('UPDATE layers SET origin = ? WHERE id = ?').run(imported.origin, layer);
  db.prepare('DELETE FROM staged_blobs WHERE layer = ?').run(layer);
}

/** The hashes among `hashes` held neither in `blobs` nor in `staged_blobs`. */
export function missingBlobs(db: Database.Database, hashes: readonly string[]): string[] {
  const stmt = db.prepare<[string, string], { present: number }>(
    'SELECT (EXISTS (SELECT 1 FROM blobs WHERE hash = ?) OR EXISTS (SELECT 1 FROM staged_blobs WHERE hash = ?)) AS present',
  );
  return hashes.filter((h) => stmt.get(h, h)?.present !== 1);
}

/** Stages fetched blobs for `layer` in one transaction. */
export function stageBlobs(db: Database.Database, layer: string, blobs: readonly StagedBlob[]): void {
  const insert = db.prepare('INSERT OR IGNORE INTO staged_blobs (hash, layer, gz, plain_size) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const b of blobs) insert.run(b.hash, layer, b.gz, b.plainSize);
  }).immediate();
}

/** Drops every blob staged for `layer`. */
export function clearStaged(db: Database.Database, layer: string): void {
  db.prepare('DELETE FROM staged_blobs WHERE layer = ?').run(layer);
}

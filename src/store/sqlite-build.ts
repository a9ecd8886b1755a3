import type Database from 'better-sqlite3';
import type { VersionMeta } from '../domain/catalog.js';
import { formatVersionTag, nextVersionTag, type VersionTag } from '../domain/version-tag.js';
import { checkImportTotals, finishImport, importedTag, insertTileRefs } from './sqlite-import.js';
import { appendFeatureSet, carryOverTiles, dropFeatureSet, writeFeatureSet } from './sqlite-features.js';
import { countDiff, insertEvent } from './sqlite-queries.js';
import type { CommitResult, FeatureSet, ImportOptions, LayerDescription, TileAddress, TileRecord, TileRef, VersionBuild } from './tile-store.js';

/**
 * A version under construction. Its rows carry state 'building' and no tag, so no
 * reader sees them; the tag, the current pointer and the event are written in the
 * one commit transaction.
 */
export class SqliteBuild implements VersionBuild {
  private readonly vid: number;
  private done = false;
  private readonly insertBlob: Database.Statement<[string, Buffer, number]>;
  private readonly insertTile: Database.Statement<[number, number, number, number, string]>;

  constructor(
    private readonly db: Database.Database,
    private readonly layer: string,
    private readonly now: () => Date,
    /** Set for a mirror's import: the upstream's tag and time are kept, and the commit is never "unchanged". */
    private readonly imported?: ImportOptions,
  ) {
    const info = db.prepare("INSERT INTO versions (layer, state, owner_pid) VALUES (?, 'building', ?)").run(layer, process.pid);
    this.vid = Number(info.lastInsertRowid);
    this.insertBlob = db.prepare('INSERT OR IGNORE INTO blobs (hash, gz, plain_size) VALUES (?, ?, ?)');
    this.insertTile = db.prepare('INSERT INTO tiles (vid, z, x, y, hash) VALUES (?, ?, ?, ?, ?)');
  }

  putTiles(tiles: readonly TileRecord[]): void {
    this.assertOpen();
    this.db.transaction(() => {
      for (const t of tiles) {
        this.insertBlob.run(t.hash, t.gz, t.plainSize);
        this.insertTile.run(this.vid, t.z, t.x, t.y, t.hash);
      }
    }).immediate();
  }

  putTileRefs(refs: readonly TileRef[]): void {
    this.assertOpen();
    insertTileRefs(this.db, this.vid, this.layer, refs);
  }

  carryOver(fromVid: number, except: readonly TileAddress[]): number {
    this.assertOpen();
    return carryOverTiles(this.db, fromVid, this.vid, except);
  }

  putFeatureSet(set: FeatureSet): void {
    this.assertOpen();
    writeFeatureSet(this.db, this.vid, this.layer, set);
  }

  appendFeatureSet(tail: Uint8Array): void {
    this.assertOpen();
    appendFeatureSet(this.db, this.vid, tail);
  }

  commit(meta: VersionMeta, schemaKey: string, description: LayerDescription): CommitResult {
    this.assertOpen();
    const result = this.db.transaction((): CommitResult => {
      const layerRow = this.db.prepare('SELECT current_vid FROM layers WHERE id = ?').get(this.layer) as { current_vid: number | null } | undefined;
      const currentVid = layerRow?.current_vid ?? null;
      const current = currentVid === null ? null : this.readVersion(currentVid);
      const changedTiles = currentVid === null ? this.tileCount() : countDiff(this.db, currentVid, this.vid);
      this.upsertLayer(description);
      if (!this.imported && current && changedTiles === 0 && current.schema_key === schemaKey) {
        this.dropRows();
        return { state: 'unchanged', version: current.version };
      }
      const bump = current && current.schema_key !== schemaKey ? 'major' : 'minor';
      const tag = this.imported ? importedTag(this.db, this.layer, this.imported) : nextVersionTag(this.highestTag(), bump);
      const version = formatVersionTag(tag);
      const publishedAt = this.imported?.publishedAt ?? this.now().toISOString();
      const totals = this.db
        .prepare('SELECT count(*) AS n, coalesce(sum(length(b.gz)), 0) AS bytes FROM tiles t JOIN blobs b ON b.hash = t.hash WHERE t.vid = ?')
        .get(this.vid) as { n: number; bytes: number };
      if (this.imported) checkImportTotals(this.layer, this.imported, totals);
      this.db
        .prepare("UPDATE versions SET version = ?, major = ?, minor = ?, patch = ?, state = 'live', published_at = ?, tiles = ?, bytes = ?, meta = ?, schema_key = ? WHERE vid = ?")
        .run(version, tag.major, tag.minor, tag.patch, publishedAt, totals.n, totals.bytes, JSON.stringify(meta), schemaKey, this.vid);
      this.db.prepare('UPDATE layers SET current_vid = ? WHERE id = ?').run(this.vid, this.layer);
      if (this.imported) finishImport(this.db, this.layer, this.imported);
      const previous = current?.version ?? null;
      const event = insertEvent(this.db, { layer: this.layer, version, previous, publishedAt, changedTiles, kind: 'publish' });
      return { state: 'published', version, previous, changedTiles, event };
    }).immediate();
    this.done = true;
    return result;
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.db.transaction(() => this.dropRows()).immediate();
  }

  private dropRows(): void {
    this.db.prepare('DELETE FROM tiles WHERE vid = ?').run(this.vid);
    this.db.prepare('DELETE FROM versions WHERE vid = ?').run(this.vid);
    dropFeatureSet(this.db, this.vid);
    this.db.exec('DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM tiles t WHERE t.hash = blobs.hash)');
  }

  private upsertLayer(d: LayerDescription): void {
    this.db
      .prepare(
        'INSERT INTO layers (id, title, attribution, style, current_vid) VALUES (?, ?, ?, ?, NULL) ' +
          'ON CONFLICT (id) DO UPDATE SET title = excluded.title, attribution = excluded.attribution, style = excluded.style',
      )
      .run(this.layer, d.title, d.attribution, JSON.stringify(d.style));
  }

  private readVersion(vid: number): { version: string; schema_key: string } | null {
    return (this.db.prepare('SELECT version, schema_key FROM versions WHERE vid = ?').get(vid) as { version: string; schema_key: string } | undefined) ?? null;
  }

  private highestTag(): VersionTag | null {
    const row = this.db
      .prepare('SELECT major, minor, patch FROM versions WHERE layer = ? AND version IS NOT NULL ORDER BY major DESC, minor DESC, patch DESC LIMIT 1')
      .get(this.layer) as VersionTag | undefined;
    return row ?? null;
  }

  private tileCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM tiles WHERE vid = ?').get(this.vid) as { n: number }).n;
  }

  private assertOpen(): void {
    if (this.done) throw new Error(`build of layer "${this.layer}" is already finished`);
  }
}

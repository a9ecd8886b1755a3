import { existsSync, mkdirSync } from 'node:fs';
import { openIngestMemo, writeIngestMemo } from './ingest-memo-file.js';
import { isProcessAlive } from './process-alive.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LayerStyle, VersionMeta } from '../domain/catalog.js';
import { SqliteBuild } from './sqlite-build.js';
import { assertBuildAllowed, clearStaged, missingBlobs, stageBlobs } from './sqlite-import.js';
import { migrateSchema, SCHEMA_SQL, SCHEMA_VERSION } from './sqlite-schema.js';
import type {
  ChangeEvent, DiffEntry, FeatureSet, ImportOptions, IngestMemoFile, LayerRecord, StagedBlob, StoredTile, StoredTileAt, TileStore, VersionBuild, VersionRecord,
} from './tile-store.js';
import { StoreError, StoreOpenError } from './store-error.js';
import { countDiff, insertEvent } from './sqlite-queries.js';
import { diffPages, iterateVersionTiles } from './sqlite-diff.js';
import { dropFeatureSet, readFeatureSet } from './sqlite-features.js';

/** The store's file name inside the data directory. */
export const STORE_FILE = 'plantiles.sqlite';

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Wall clock for publishedAt; injectable for tests. */
  now?: () => Date;
  readonly?: boolean;
}

interface VersionRow {
  vid: number; layer: string; version: string; state: 'live' | 'pruned';
  published_at: string; tiles: number; bytes: number; meta: string;
}
interface LayerRow { id: string; title: string; attribution: string; style: string; current_vid: number | null; origin: string | null }
interface EventRow {
  seq: number; layer: string; version: string; previous: string | null;
  published_at: string; changed_tiles: number; kind: 'publish' | 'rollback';
}

/** Page size of a new store's database file (an existing one keeps its own). */
export const PAGE_SIZE = 16384;

/** Whether `dir` holds a store; openSqliteStore creates one where there is none. */
export function storeExists(dir: string): boolean {
  return existsSync(path.join(dir, STORE_FILE));
}

/** Opens (and creates or migrates) the store in `dir`. */
export function openSqliteStore(dir: string, options: SqliteStoreOptions = {}): SqliteStore {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreOpenError(`${dir}: cannot use this as the store's folder: ${openProblem(err)}`);
  }
  const file = path.join(dir, STORE_FILE);
  let db: Database.Database | null = null;
  try {
    db = new Database(file);
    return initialiseStore(db, dir, options);
  } catch (err) {
    db?.close();
    throw new StoreOpenError(`${file}: cannot open the tile store: ${openProblem(err)}`);
  }
}

/** Why a folder or SQLite file could not be opened, in the operator's terms. */
function openProblem(err: unknown): string {
  const raw = (err as { code?: unknown }).code;
  // SQLite's extended codes name the case (SQLITE_READONLY_DIRECTORY); the base code says enough here.
  const code = typeof raw === 'string' ? raw.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1') : raw;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EEXIST' || code === 'ENOTDIR') return 'a file is in the way where a folder should be (storage.dir or PLANTILES_DATA_DIR must name a folder)';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `${message} (this user may not create or write it)`;
  if (code === 'SQLITE_CANTOPEN') return `${message} (the folder must exist and be writable by this user)`;
  if (code === 'SQLITE_READONLY') return `${message} (plantiles needs write access to the folder and the store's files, also to read them: WAL mode writes beside the file)`;
  if (code === 'SQLITE_NOTADB') return `${message} (it is not a plantiles store)`;
  return message;
}

function initialiseStore(db: Database.Database, dir: string, options: SqliteStoreOptions): SqliteStore {
  // Pages of 16 KiB (taken by a new store only): a publish writes tiles of tens to hundreds of
  // KiB, which 4 KiB pages split into chains of overflow pages. Writing the blobs of 3,300
  // tiles took about 60% as long; reading a tile took as long or less.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA_SQL);
  db.prepare('INSERT OR IGNORE INTO store_meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
  migrateSchema(db);
  return new SqliteStore(db, options.now ?? (() => new Date()), dir);
}

/** The embedded TileStore: catalog, blobs, tiles and change feed in one SQLite file. */
export class SqliteStore implements TileStore {
  private readonly tileStmt: Database.Statement<[number, number, number, number], StoredTile>;
  private readonly dataVersionStmt: Database.Statement<[], { data_version: number }>;

  constructor(readonly db: Database.Database, private readonly now: () => Date, private readonly dir: string | null = null) {
    this.tileStmt = db.prepare(
      'SELECT t.hash AS hash, b.gz AS gz FROM tiles t JOIN blobs b ON b.hash = t.hash WHERE t.vid = ? AND t.z = ? AND t.x = ? AND t.y = ?',
    );
    this.dataVersionStmt = db.prepare('PRAGMA data_version');
    this.dropAbandonedBuilds();
  }

  listLayers(): LayerRecord[] {
    const rows = this.db.prepare('SELECT * FROM layers ORDER BY id').all() as LayerRow[];
    return rows.map((row) => this.toLayer(row));
  }

  getLayer(id: string): LayerRecord | null {
    const row = this.db.prepare('SELECT * FROM layers WHERE id = ?').get(id) as LayerRow | undefined;
    return row ? this.toLayer(row) : null;
  }

  getTile(vid: number, z: number, x: number, y: number): StoredTile | null {
    return this.tileStmt.get(vid, z, x, y) ?? null;
  }

  beginBuild(layer: string, imported?: ImportOptions): VersionBuild {
    assertBuildAllowed(this.db, layer, imported);
    return new SqliteBuild(this.db, layer, this.now, imported);
  }

  rollback(layer: string, version: string, options: { byMirror?: boolean } = {}): ChangeEvent | null {
    return this.db.transaction((): ChangeEvent | null => {
      const current = this.db.prepare('SELECT current_vid, origin FROM layers WHERE id = ?').get(layer) as { current_vid: number | null; origin: string | null } | undefined;
      if (!current) throw new StoreError('unknown-layer', `layer "${layer}" is not published`);
      if (current.origin !== null && !options.byMirror) {
        throw new StoreError('conflict', `layer "${layer}" is mirrored from node "${current.origin}" and is read-only here; roll it back on "${current.origin}"`);
      }
      const target = this.db.prepare('SELECT vid, state FROM versions WHERE layer = ? AND version = ?').get(layer, version) as
        | { vid: number; state: string } | undefined;
      if (!target) throw new StoreError('unknown-version', `layer "${layer}" has no version ${version}`);
      if (target.state !== 'live') throw new StoreError('pruned-version', `version ${version} of "${layer}" was removed by retention`);
      if (target.vid === current.current_vid) return null;
      const previous = current.current_vid === null ? null : this.versionTag(current.current_vid);
      const changed = current.current_vid === null ? 0 : countDiff(this.db, current.current_vid, target.vid);
      this.db.prepare('UPDATE layers SET current_vid = ? WHERE id = ?').run(target.vid, layer);
      return insertEvent(this.db, { layer, version, previous, publishedAt: this.now().toISOString(), changedTiles: changed, kind: 'rollback' });
    }).immediate();
  }

  diff(fromVid: number | null, toVid: number): IterableIterator<DiffEntry> {
    return diffPages(this.db, fromVid, toVid);
  }

  iterateTiles(vid: number): IterableIterator<StoredTileAt> {
    return iterateVersionTiles(this.db, vid);
  }

  readFeatureSet(vid: number): FeatureSet | null {
    return readFeatureSet(this.db, vid);
  }

  openIngestMemo(layer: string): IngestMemoFile | null {
    return this.dir === null ? null : openIngestMemo(this.dir, layer);
  }

  async writeIngestMemo(layer: string, parts: readonly Uint8Array[]): Promise<void> {
    if (this.dir !== null) await writeIngestMemo(this.dir, layer, parts);
  }

  eventsSince(since: number, limit = 1000): ChangeEvent[] {
    const rows = this.db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(since, limit) as EventRow[];
    return rows.map(toEvent);
  }

  prune(layer: string, keep: number): string[] {
    return this.db.transaction((): string[] => {
      const cur = this.db.prepare('SELECT current_vid FROM layers WHERE id = ?').get(layer) as { current_vid: number | null } | undefined;
      // Most recently current first (a rollback makes an old version recent again), then newest.
      const live = this.db.prepare(`SELECT vid, version FROM versions v WHERE layer = ? AND state = 'live'
        ORDER BY (SELECT MAX(seq) FROM events e WHERE e.layer = v.layer AND e.version = v.version) DESC NULLS LAST, vid DESC`).all(layer) as { vid: number; version: string }[];
      const doomed = live.filter((v, i) => i >= keep && v.vid !== cur?.current_vid);
      for (const v of doomed) {
        this.db.prepare('DELETE FROM tiles WHERE vid = ?').run(v.vid);
        this.db.prepare("UPDATE versions SET state = 'pruned' WHERE vid = ?").run(v.vid);
      }
      if (doomed.length) this.db.exec('DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM tiles t WHERE t.hash = blobs.hash)');
      return doomed.map((v) => v.version);
    }).immediate();
  }

  missingBlobs(hashes: readonly string[]): string[] {
    return missingBlobs(this.db, hashes);
  }

  stageBlobs(layer: string, blobs: readonly StagedBlob[]): void {
    stageBlobs(this.db, layer, blobs);
  }

  clearStaged(layer: string): void {
    clearStaged(this.db, layer);
  }

  dataVersion(): number {
    return this.dataVersionStmt.get()?.data_version ?? 0;
  }

  close(): void {
    this.db.close();
  }

  /**
   * A build that never committed (a crash or kill) leaves rows no reader can see; drop
   * them — but only those whose writing process is gone, never another process's live build.
   */
  private dropAbandonedBuilds(): void {
    const building = this.db.prepare("SELECT vid, owner_pid FROM versions WHERE state = 'building'").all() as { vid: number; owner_pid: number | null }[];
    const stale = building.filter((b) => b.owner_pid === null || !isProcessAlive(b.owner_pid));
    if (!stale.length) return;
    this.db.transaction(() => {
      for (const { vid } of stale) {
        this.db.prepare('DELETE FROM tiles WHERE vid = ?').run(vid);
        this.db.prepare('DELETE FROM versions WHERE vid = ?').run(vid);
        dropFeatureSet(this.db, vid);
      }
      this.db.exec('DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM tiles t WHERE t.hash = blobs.hash)');
    }).immediate();
  }

  private versionTag(vid: number): string | null {
    const row = this.db.prepare('SELECT version FROM versions WHERE vid = ?').get(vid) as { version: string | null } | undefined;
    return row?.version ?? null;
  }

  private toLayer(row: LayerRow): LayerRecord {
    const versions = (this.db
      .prepare("SELECT vid, layer, version, state, published_at, tiles, bytes, meta FROM versions WHERE layer = ? AND state != 'building' ORDER BY major DESC, minor DESC, patch DESC")
      .all(row.id) as VersionRow[]).map(toVersion);
    return {
      id: row.id,
      title: row.title,
      attribution: row.attribution,
      style: JSON.parse(row.style) as LayerStyle,
      currentVid: row.current_vid,
      versions,
      origin: row.origin ?? null,
    };
  }
}

function toVersion(r: VersionRow): VersionRecord {
  return {
    vid: r.vid, layer: r.layer, version: r.version, state: r.state, publishedAt: r.published_at,
    tiles: r.tiles, bytes: r.bytes, meta: JSON.parse(r.meta) as VersionMeta,
  };
}

function toEvent(r: EventRow): ChangeEvent {
  return {
    seq: r.seq, layer: r.layer, version: r.version, previous: r.previous,
    publishedAt: r.published_at, changedTiles: r.changed_tiles, kind: r.kind,
  };
}

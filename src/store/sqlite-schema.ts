import type Database from 'better-sqlite3';

/** Schema of the embedded SQLite store; one file holds the catalog, the tiles and the change feed. */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  attribution TEXT NOT NULL,
  style TEXT NOT NULL,
  current_vid INTEGER,
  -- Node id a mirrored layer comes from; NULL for a layer published here.
  origin TEXT
);
CREATE TABLE IF NOT EXISTS versions (
  vid INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL,
  version TEXT,
  major INTEGER, minor INTEGER, patch INTEGER,
  state TEXT NOT NULL CHECK (state IN ('building', 'live', 'pruned')),
  published_at TEXT,
  tiles INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  meta TEXT,
  schema_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_tag ON versions (layer, version) WHERE version IS NOT NULL;
-- Blobs are stored once by content hash (of the plain MVT bytes), gzip-compressed.
CREATE TABLE IF NOT EXISTS blobs (
  hash TEXT PRIMARY KEY,
  gz BLOB NOT NULL,
  plain_size INTEGER NOT NULL
);
-- Each version maps every tile it has to a blob hash; unchanged tiles share blobs across versions.
CREATE TABLE IF NOT EXISTS tiles (
  vid INTEGER NOT NULL,
  z INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (vid, z, x, y)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tiles_hash ON tiles (hash);
-- Blobs a mirror fetched for a version it has not committed yet. Kept apart from blobs so
-- no garbage collection drops them, and across restarts so a resumed transfer skips them.
CREATE TABLE IF NOT EXISTS staged_blobs (
  hash TEXT PRIMARY KEY,
  layer TEXT NOT NULL,
  gz BLOB NOT NULL,
  plain_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS staged_blobs_layer ON staged_blobs (layer);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL,
  version TEXT NOT NULL,
  previous TEXT,
  published_at TEXT NOT NULL,
  changed_tiles INTEGER NOT NULL,
  kind TEXT NOT NULL
);
-- Publish jobs (admin requests, uploads, the scheduler): the queue survives restarts.
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('publish', 'upload')),
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'unchanged', 'failed')),
  progress REAL NOT NULL DEFAULT 0,
  stage TEXT,
  detail TEXT,
  version TEXT,
  error TEXT,
  revision INTEGER,
  requested_by TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  runner TEXT,
  runner_pid INTEGER,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, layer);
-- Uploaded sources, kept side by side under sources/<layer>/r<id>/; the 'active' one is its layer's source.
CREATE TABLE IF NOT EXISTS source_revisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('geojson', 'zip')),
  state TEXT NOT NULL CHECK (state IN ('receiving', 'received', 'active', 'superseded', 'rejected')),
  name TEXT,
  dir TEXT NOT NULL,
  source TEXT,
  bytes INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT,
  uploaded_by TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  error TEXT,
  owner_pid INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS source_revisions_active ON source_revisions (layer) WHERE state = 'active';
-- Each layer's source as last published (and as last failed), so a scan can tell what changed.
CREATE TABLE IF NOT EXISTS source_state (
  layer TEXT PRIMARY KEY,
  source TEXT,
  files TEXT,
  hash TEXT,
  failed_source TEXT,
  failed_hash TEXT,
  recorded_at TEXT NOT NULL
);
-- Every admin action: who, what, when, result.
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  layer TEXT,
  status INTEGER NOT NULL,
  result TEXT NOT NULL,
  detail TEXT,
  remote TEXT
);
-- Per-feature fingerprints of each version (an opaque packed blob), for incremental republish.
CREATE TABLE IF NOT EXISTS feature_sets (
  vid INTEGER PRIMARY KEY,
  layer TEXT NOT NULL,
  tiling_key TEXT NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS feature_sets_layer ON feature_sets (layer);
-- The rest of a version's feature set, written after its tiles (what the budget did); the
-- set is feature_sets.data followed by this. Sets written in one piece have none.
CREATE TABLE IF NOT EXISTS feature_set_tails (
  vid INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
`;

/** Columns added after schema version 1: `CREATE TABLE IF NOT EXISTS` leaves an existing table as it was. */
const ADDED_COLUMNS: readonly { table: string; column: string; ddl: string }[] = [
  { table: 'layers', column: 'origin', ddl: 'ALTER TABLE layers ADD COLUMN origin TEXT' },
  // The process writing a 'building' version, so opening the store drops only builds whose writer died.
  { table: 'versions', column: 'owner_pid', ddl: 'ALTER TABLE versions ADD COLUMN owner_pid INTEGER' },
  // The process running a job, and the one receiving an upload: a process that starts fails or
  // discards only those of processes that died, never a running neighbour's (several servers on one data dir).
  { table: 'jobs', column: 'runner_pid', ddl: 'ALTER TABLE jobs ADD COLUMN runner_pid INTEGER' },
  { table: 'source_revisions', column: 'owner_pid', ddl: 'ALTER TABLE source_revisions ADD COLUMN owner_pid INTEGER' },
];

/** Brings a store created by an older version up to SCHEMA_VERSION; safe when several processes open it at once. */
export function migrateSchema(db: Database.Database): void {
  db.transaction(() => {
    for (const c of ADDED_COLUMNS) {
      const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all(c.table) as { name: string }[];
      if (!columns.some((col) => col.name === c.column)) db.exec(c.ddl);
    }
    db.prepare("UPDATE store_meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?").run(String(SCHEMA_VERSION), SCHEMA_VERSION);
  }).immediate();
}

/** Schema of the embedded SQLite store; one file holds the catalog, the tiles and the change feed. */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  attribution TEXT NOT NULL,
  style TEXT NOT NULL,
  current_vid INTEGER
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
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL,
  version TEXT NOT NULL,
  previous TEXT,
  published_at TEXT NOT NULL,
  changed_tiles INTEGER NOT NULL,
  kind TEXT NOT NULL
);
`;

import path from 'node:path';
import type Database from 'better-sqlite3';
import type { SourceRevision, UploadKind } from '../jobs/jobs.js';
import { isLiveNeighbour } from './sqlite-jobs.js';

/** Size and modification time of one source file (the cheap hint a scan checks first). */
export interface SourceFileStat {
  name: string;
  size: number;
  mtimeMs: number;
}

/** A source as it was read: its files and the SHA-256 of their contents. */
export interface SourceFingerprint extends SourceRead {
  hash: string;
}

/** Which source a job reads, and its files' sizes and mtimes when it began. */
export interface SourceRead {
  /** Absolute path of the layer's main source file. */
  source: string;
  files: SourceFileStat[];
}

/** What a layer's source looked like when it was last published, and when it last failed. */
export interface SourceState {
  published: SourceFingerprint | null;
  failed: { source: string; hash: string } | null;
}

interface RevisionRow {
  id: number; layer: string; kind: UploadKind; state: SourceRevision['state']; name: string | null;
  dir: string; source: string | null; bytes: number; sha256: string | null;
  uploaded_by: string; uploaded_at: string; error: string | null;
}

/** A revision with where its files are (relative to the data directory). */
export interface StoredRevision extends SourceRevision {
  dir: string;
  /** The file to ingest, once known (after a zip is unpacked). */
  source: string | null;
}

/** Uploaded source revisions and the fingerprints of published sources. */
export class SqliteSources {
  constructor(private readonly db: Database.Database, private readonly now: () => Date = () => new Date()) {}

  /** Starts a revision; its folder is `sources/<layer>/r<id>` under the data directory. */
  createRevision(layer: string, kind: UploadKind, name: string | null, uploadedBy: string): StoredRevision {
    return this.db.transaction((): StoredRevision => {
      const info = this.db
        .prepare("INSERT INTO source_revisions (layer, kind, state, name, dir, uploaded_by, uploaded_at, owner_pid) VALUES (?, ?, 'receiving', ?, '', ?, ?, ?)")
        .run(layer, kind, name, uploadedBy, this.now().toISOString(), process.pid);
      const id = Number(info.lastInsertRowid);
      this.db.prepare('UPDATE source_revisions SET dir = ? WHERE id = ?').run(`sources/${layer}/r${id}`, id);
      return this.get(id) as StoredRevision;
    }).immediate();
  }

  /** Marks a fully received revision; `source` is the file to ingest when already known. */
  markReceived(id: number, bytes: number, sha256: string, source: string | null): void {
    this.db.prepare("UPDATE source_revisions SET state = 'received', bytes = ?, sha256 = ?, source = ? WHERE id = ?").run(bytes, sha256, source, id);
  }

  /** Records the file to ingest once a zip is unpacked. */
  setSource(id: number, source: string): void {
    this.db.prepare('UPDATE source_revisions SET source = ? WHERE id = ?').run(source, id);
  }

  /** Makes a revision its layer's source (the previous active one is superseded); call inside the publish commit. */
  activate(id: number): void {
    const row = this.get(id);
    if (!row) throw new Error(`source revision ${id} does not exist`);
    this.db.prepare("UPDATE source_revisions SET state = 'superseded' WHERE layer = ? AND state = 'active'").run(row.layer);
    this.db.prepare("UPDATE source_revisions SET state = 'active', error = NULL WHERE id = ?").run(id);
  }

  reject(id: number, error: string): void {
    this.db.prepare("UPDATE source_revisions SET state = 'rejected', error = ? WHERE id = ? AND state IN ('receiving', 'received')").run(error, id);
  }

  get(id: number): StoredRevision | null {
    const row = this.db.prepare('SELECT * FROM source_revisions WHERE id = ?').get(id) as RevisionRow | undefined;
    return row ? toRevision(row) : null;
  }

  /** The uploaded revision that is the layer's source, if any. */
  active(layer: string): StoredRevision | null {
    const row = this.db.prepare("SELECT * FROM source_revisions WHERE layer = ? AND state = 'active'").get(layer) as RevisionRow | undefined;
    return row ? toRevision(row) : null;
  }

  /**
   * The file a publish of a layer reads: its active upload (the last one published),
   * else the configured source. Jobs and the CLI both go through here.
   */
  publishSource(layer: string, configured: string, dataDir: string): { file: string; revision: number | null } {
    const active = this.active(layer);
    return active?.source ? { file: path.join(dataDir, active.source), revision: active.id } : { file: configured, revision: null };
  }

  /** A layer's revisions, newest first. */
  list(layer: string, limit = 50): StoredRevision[] {
    return (this.db.prepare('SELECT * FROM source_revisions WHERE layer = ? ORDER BY id DESC LIMIT ?').all(layer, limit) as RevisionRow[]).map(toRevision);
  }

  /** Revisions whose upload never finished (the process died while receiving). */
  unfinished(): StoredRevision[] {
    const rows = this.db.prepare("SELECT * FROM source_revisions WHERE state = 'receiving'").all() as (RevisionRow & { owner_pid: number | null })[];
    return rows.filter((r) => !isLiveNeighbour(r.owner_pid)).map(toRevision);
  }

  state(layer: string): SourceState {
    const row = this.db.prepare('SELECT * FROM source_state WHERE layer = ?').get(layer) as
      | { source: string | null; files: string | null; hash: string | null; failed_source: string | null; failed_hash: string | null }
      | undefined;
    if (!row) return { published: null, failed: null };
    const published = row.source && row.files && row.hash ? { source: row.source, files: JSON.parse(row.files) as SourceFileStat[], hash: row.hash } : null;
    const failed = row.failed_source && row.failed_hash ? { source: row.failed_source, hash: row.failed_hash } : null;
    return { published, failed };
  }

  /** Remembers the source a publish read (call inside the publish commit); clears a failure. */
  recordPublished(layer: string, fp: SourceFingerprint): void {
    this.db.prepare(
      'INSERT INTO source_state (layer, source, files, hash, recorded_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (layer) DO UPDATE SET source = excluded.source, files = excluded.files, hash = excluded.hash, failed_source = NULL, failed_hash = NULL, recorded_at = excluded.recorded_at',
    ).run(layer, fp.source, JSON.stringify(fp.files), fp.hash, this.now().toISOString());
  }

  /** Remembers a source whose publish failed, so a scan does not retry the same content forever. */
  recordFailed(layer: string, source: string, hash: string): void {
    this.db.prepare(
      'INSERT INTO source_state (layer, failed_source, failed_hash, recorded_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (layer) DO UPDATE SET failed_source = excluded.failed_source, failed_hash = excluded.failed_hash, recorded_at = excluded.recorded_at',
    ).run(layer, source, hash, this.now().toISOString());
  }

  /** Updates the file stats of an unchanged source (same hash, new mtime), so the next scan skips hashing. */
  refreshStats(layer: string, files: SourceFileStat[]): void {
    this.db.prepare('UPDATE source_state SET files = ? WHERE layer = ?').run(JSON.stringify(files), layer);
  }
}

function toRevision(r: RevisionRow): StoredRevision {
  return {
    id: r.id, layer: r.layer, kind: r.kind, state: r.state, name: r.name, bytes: r.bytes, sha256: r.sha256,
    uploadedBy: r.uploaded_by, uploadedAt: r.uploaded_at, error: r.error, dir: r.dir, source: r.source,
  };
}

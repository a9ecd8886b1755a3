import type Database from 'better-sqlite3';

/** One admin action: who, what, when, and how it ended. */
export interface AuditEntry {
  id: number;
  at: string;
  /** Token name, "anonymous" for a request without a valid token, "scheduler" or "cli". */
  actor: string;
  /** publish, upload, rollback, … */
  action: string;
  layer: string | null;
  /** HTTP status of the answer (202, 401, …), or 0 for actions outside HTTP. */
  status: number;
  /** One line: "queued job 12", "rolled back to 1.0.0", the error message. */
  result: string;
  detail: Record<string, unknown> | null;
  remote: string | null;
}

/** What a caller records; id and time are assigned. */
export type AuditRecord = Omit<AuditEntry, 'id' | 'at'>;

/** Filters of an audit listing. */
export interface AuditFilter {
  /** Only entries of layers this predicate accepts; entries with no layer need `global`. */
  layer?: (layer: string) => boolean;
  /** Include entries that concern no layer. */
  global?: boolean;
  limit?: number;
}

/** The audit log the admin routes write to. Never holds a secret. */
export interface AuditLog {
  record(entry: AuditRecord): AuditEntry;
  /** Entries newest first. */
  list(filter?: AuditFilter): AuditEntry[];
}

interface AuditRow {
  id: number; at: string; actor: string; action: string; layer: string | null;
  status: number; result: string; detail: string | null; remote: string | null;
}

/** The audit log in the store's SQLite file. */
export class SqliteAudit implements AuditLog {
  constructor(private readonly db: Database.Database, private readonly now: () => Date = () => new Date()) {}

  record(entry: AuditRecord): AuditEntry {
    const at = this.now().toISOString();
    const info = this.db
      .prepare('INSERT INTO audit (at, actor, action, layer, status, result, detail, remote) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(at, entry.actor, entry.action, entry.layer, entry.status, entry.result, entry.detail ? JSON.stringify(entry.detail) : null, entry.remote);
    return { id: Number(info.lastInsertRowid), at, ...entry };
  }

  /** record() for callers that must not fail because of the log (the action already happened): false when not written. */
  tryRecord(entry: AuditRecord): boolean {
    try {
      this.record(entry);
      return true;
    } catch {
      return false;
    }
  }

  list(filter: AuditFilter = {}): AuditEntry[] {
    const limit = filter.limit ?? 200;
    const out: AuditEntry[] = [];
    for (const row of this.db.prepare('SELECT * FROM audit ORDER BY id DESC').iterate() as IterableIterator<AuditRow>) {
      const visible = row.layer === null ? (filter.global ?? true) : (filter.layer?.(row.layer) ?? true);
      if (!visible) continue;
      out.push({ ...row, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null });
      if (out.length >= limit) break;
    }
    return out;
  }
}

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../config/load-config.js';
import { isLayerId } from '../../domain/layer-id.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import { JobsError, type Jobs } from '../../jobs/jobs.js';
import type { CatalogCache } from '../../store/catalog-cache.js';
import type { AuditLog, AuditRecord } from '../../store/sqlite-audit.js';
import { StoreError } from '../../store/store-error.js';
import type { TileStore } from '../../store/tile-store.js';
import { principalOf, type AdminAuth, type AdminPrincipal } from '../auth.js';
import { HttpError, toResponse } from '../http-error.js';

/** What the admin routes need. */
export interface AdminDeps {
  config: Config;
  store: TileStore;
  catalog: CatalogCache;
  feed: ChangeFeed;
  jobs: Jobs;
  auth: AdminAuth;
  audit: AuditLog;
  logger: Logger;
}

/** The layer id of a route, checked against the pattern (400 otherwise, never a path). */
export function layerParam(req: Request): string {
  const layer = req.params.layer;
  if (typeof layer !== 'string' || !isLayerId(layer)) throw new HttpError(400, 'invalid layer id', { layer: layer ?? null });
  return layer;
}

/** 403 unless the request's token covers the layer. */
export function requireScope(deps: AdminDeps, res: Response, layer: string): AdminPrincipal {
  const principal = principalOf(res);
  if (!deps.auth.covers(principal, layer)) throw new HttpError(403, `token "${principal.name}" may not act on layer "${layer}"`, { layer });
  return principal;
}

/** The layers a listing shows: those the token covers, narrowed to `?layer=` when given (checked, 403 outside scope). */
export function listingScope(deps: AdminDeps, req: Request, res: Response): { layer: (id: string) => boolean; global: boolean } {
  const principal = principalOf(res);
  const only = req.query.layer;
  if (only !== undefined) {
    if (typeof only !== 'string' || !isLayerId(only)) throw new HttpError(400, 'invalid layer id', { layer: typeof only === 'string' ? only : null });
    requireScope(deps, res, only);
    return { layer: (id) => id === only, global: false };
  }
  return { layer: (id) => deps.auth.covers(principal, id), global: principal.global };
}

/** `?limit=` between 1 and 1000. */
export function limitParam(req: Request, fallback: number): number {
  const raw = req.query.limit;
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) {
    throw new HttpError(400, 'limit must be an integer from 1 to 1000');
  }
  return Number(raw);
}

/** What the audit entry of a request says; handlers fill it in. */
interface AuditNote {
  layer?: string;
  result?: string;
  detail?: Record<string, unknown>;
}

/** Notes what a handler did, for the audit entry written when the response finishes. */
export function noteAudit(res: Response, note: AuditNote): void {
  res.locals.audit = { ...(res.locals.audit as AuditNote | undefined), ...note };
}

/**
 * Records an audit entry (who, what, when, result) once the response is sent, whether
 * the action succeeded or was refused. Put it before the token check so refusals count.
 */
export function audited(deps: AdminDeps, action: string): RequestHandler {
  return (req, res, next) => {
    // Read now: once a refusal has left the route for the error handler, Express has put back the app's params.
    const param = req.params.layer;
    const routeLayer = typeof param === 'string' && isLayerId(param) ? param : null;
    // 'close' comes for every request, 'finish' only for those answered: an upload the client
    // cut off is recorded too, with 499 (as nginx logs a request its client closed).
    res.once('close', () => {
      const note = (res.locals.audit as AuditNote | undefined) ?? {};
      const principal = res.locals.principal as AdminPrincipal | undefined;
      const layer = note.layer ?? routeLayer;
      const answered = res.writableFinished;
      const status = answered ? res.statusCode : CLIENT_CLOSED;
      const result = answered
        ? note.result ?? (res.statusCode === 401 ? 'refused: no valid token' : `HTTP ${res.statusCode}`)
        : `aborted: the client closed the connection before the answer${note.result ? ` (${note.result})` : ''}`;
      recordAudit(deps, { actor: principal?.name ?? 'anonymous', action, layer, status, result, detail: note.detail ?? null, remote: req.ip ?? null });
    });
    next();
  };
}

/** The audit status of a request whose client closed the connection before it was answered (nginx's 499). */
const CLIENT_CLOSED = 499;

/** How often an audit write is tried while another process holds the store's write lock. */
const AUDIT_ATTEMPTS = 5;

/** Writes an audit entry; a busy store is retried a few times, and a lost entry is logged, never thrown. */
function recordAudit(deps: AdminDeps, entry: AuditRecord, attempt = 1): void {
  try {
    deps.audit.record(entry);
  } catch (err) {
    if (attempt < AUDIT_ATTEMPTS && /^SQLITE_BUSY/.test(String((err as { code?: unknown }).code))) {
      setTimeout(() => recordAudit(deps, entry, attempt + 1), 200 * attempt).unref();
      return;
    }
    deps.logger.error({ err, audit: entry }, 'audit entry could not be written');
  }
}

/** Wraps a handler: errors of the job system and the store become HTTP errors, and their message goes to the audit. */
export function handle(fn: (req: Request, res: Response) => void | Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const fail = (err: unknown): void => {
      const mapped = toHttpError(err);
      // A refusal (a body parser's too: malformed JSON) is audited in the words the client is answered with.
      const answer = toResponse(mapped);
      if (answer.status < 500) noteAudit(res, { result: `refused: ${answer.body.error}` });
      if (mapped instanceof HttpError && mapped.status === 413) res.setHeader('Connection', 'close');
      next(mapped);
    };
    try {
      const out = fn(req, res);
      if (out instanceof Promise) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** Maps the job system's and the store's refusals to statuses. */
function toHttpError(err: unknown): unknown {
  if (err instanceof JobsError) {
    const status = { 'unknown-layer': 404, 'too-large': 413, 'upload-aborted': 400, 'not-running': 409, mirrored: 409 }[err.code];
    return new HttpError(status, err.message, { layer: err.layer ?? null });
  }
  if (err instanceof StoreError) {
    const status = { 'unknown-layer': 404, 'unknown-version': 404, 'pruned-version': 410, conflict: 409 }[err.code];
    return new HttpError(status, err.message);
  }
  return err;
}

import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import { parseVersionTag } from '../../domain/version-tag.js';
import type { LayerRecord } from '../../store/tile-store.js';
import { requireToken } from '../auth.js';
import { HttpError } from '../http-error.js';
import { packageRoot } from '../package-paths.js';
import {
  audited, handle, layerParam, limitParam, listingScope, noteAudit, requireScope, type AdminDeps,
} from './admin-common.js';
import { adminEventRoutes } from './admin-events.js';
import { uploadHandler } from './admin-upload.js';

export type { AdminDeps } from './admin-common.js';

/** The admin page's static files (kept in src/, not compiled). */
export function adminDir(): string {
  return path.join(packageRoot(), 'src', 'server', 'admin');
}

/**
 * The admin API (SPEC §3.3) and page. Every API route needs a bearer token (401),
 * whose layer patterns must cover the layer (403); mutations are audited, refusals too.
 * The page's HTML, script and style are public: the token lives only in the browser.
 */
export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const token = requireToken(deps.auth);
  // Not strict: a body of null or 3 is JSON, and rollback explains what it wants instead.
  const jsonBody = express.json({ limit: '16kb', strict: false });

  // The API's answers, refusals included, are never kept by a cache (the page and its files may be).
  router.use(['/admin/layers', '/admin/jobs', '/admin/audit', '/admin/events'], (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/admin/layers', token, handle((req, res) => listLayers(deps, req, res)));
  router.post('/admin/layers/:layer/publish', audited(deps, 'publish'), token, handle((req, res) => publish(deps, req, res)));
  router.put('/admin/layers/:layer/source', audited(deps, 'upload'), token, handle((req, res) => uploadHandler(deps, req, res)));
  router.post('/admin/layers/:layer/rollback', audited(deps, 'rollback'), token, handle((req, res) => {
    const layer = layerParam(req);
    requireScope(deps, res, layer);
    // The body is parsed only after the token check: an anonymous caller gets 401 without being read.
    return new Promise<void>((resolve, reject) => jsonBody(req, res, (err?: unknown) => {
      try {
        if (err) throw err;
        rollback(deps, layer, req, res);
        resolve();
      } catch (e) {
        reject(e as Error);
      }
    }));
  }));
  router.get('/admin/jobs', token, handle((req, res) => {
    const scope = listingScope(deps, req, res);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ jobs: deps.jobs.list({ layer: scope.layer, limit: limitParam(req, 100) }) });
  }));
  router.get('/admin/jobs/:id', token, handle((req, res) => {
    const id = req.params.id;
    if (typeof id !== 'string' || !/^\d{1,15}$/.test(id)) throw new HttpError(400, 'a job id is a positive integer');
    const job = deps.jobs.get(Number(id));
    if (!job) throw new HttpError(404, `no job ${id}`);
    requireScope(deps, res, job.layer);
    // Read-after-write: once a client sees its job finished, this server serves the new version.
    if (job.state === 'succeeded' || job.state === 'unchanged') deps.feed.poll();
    res.setHeader('Cache-Control', 'no-store');
    res.json(job);
  }));
  router.get('/admin/audit', token, handle((req, res) => {
    const scope = listingScope(deps, req, res);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ entries: deps.audit.list({ layer: scope.layer, global: scope.global, limit: limitParam(req, 200) }) });
  }));
  router.use(adminEventRoutes(deps, token));
  router.get(['/admin', '/admin/'], (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(adminDir(), 'index.html'));
  });
  router.use('/admin', express.static(adminDir(), { index: false, maxAge: 0 }));
  return router;
}

function publish(deps: AdminDeps, req: Request, res: Response): void {
  const layer = layerParam(req);
  const principal = requireScope(deps, res, layer);
  const { job, joined } = deps.jobs.enqueuePublish(layer, principal.name);
  noteAudit(res, { result: `${joined ? 'joined' : 'queued'} job ${job.id}`, detail: { job: job.id } });
  res.status(202).location(`/admin/jobs/${job.id}`).json(job);
}

function rollback(deps: AdminDeps, layer: string, req: Request, res: Response): void {
  const body: unknown = req.body;
  const version = typeof body === 'object' && body !== null ? (body as { version?: unknown }).version : undefined;
  if (typeof version !== 'string' || !parseVersionTag(version)) {
    throw new HttpError(400, 'the body must be JSON {"version": "<major.minor.patch>"}');
  }
  const event = deps.store.rollback(layer, version);
  if (!event) {
    // Already current: nothing changes, so the feed gets no event.
    noteAudit(res, { result: `version ${version} is already current`, detail: { version, previous: version } });
    res.json({ layer, version, previous: version });
    return;
  }
  deps.feed.poll(true);
  noteAudit(res, { result: `current version is now ${event.version} (was ${event.previous ?? 'none'})`, detail: { version, previous: event.previous, seq: event.seq } });
  res.json({ layer, version: event.version, previous: event.previous });
}

/** Every layer the token covers: configured here or only in the store (mirrored), with versions and uploads. */
function listLayers(deps: AdminDeps, req: Request, res: Response): void {
  const scope = listingScope(deps, req, res);
  deps.catalog.refreshIfChanged();
  const ids = new Set([...deps.config.layers.map((l) => l.id), ...deps.catalog.list().map((l) => l.id)]);
  const layers = [...ids].filter(scope.layer).sort().map((id) => {
    const configured = deps.config.layers.find((l) => l.id === id);
    const record = deps.catalog.get(id);
    const revisions = deps.jobs.revisions(id).slice(0, 20);
    const active = revisions.find((r) => r.state === 'active');
    return {
      id,
      title: record?.title ?? configured?.title ?? id,
      configured: configured !== undefined,
      origin: record?.origin ?? null,
      source: active ? `upload r${active.id}${active.name ? ` (${active.name})` : ''}` : configured ? path.basename(configured.source) : null,
      current: currentVersion(record),
      versions: (record?.versions ?? []).map(({ version, state, publishedAt, tiles, bytes }) => ({ version, state, publishedAt, tiles, bytes })),
      revisions,
    };
  });
  res.setHeader('Cache-Control', 'no-store');
  res.json({ layers });
}

function currentVersion(layer: LayerRecord | undefined): string | null {
  if (!layer) return null;
  return layer.versions.find((v) => v.vid === layer.currentVid)?.version ?? null;
}

import type { Request, Response } from 'express';
import type { UploadKind } from '../../jobs/jobs.js';
import { HttpError } from '../http-error.js';
import { layerParam, noteAudit, requireScope, type AdminDeps } from './admin-common.js';

/** Media types an upload may have, and what each is. */
const UPLOAD_TYPES: Record<string, UploadKind> = {
  'application/geo+json': 'geojson',
  'application/json': 'geojson',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
};

/**
 * PUT /admin/layers/{layer}/source: the body (GeoJSON, or a zipped Shapefile) is
 * streamed to disk as a new source revision, then published by a job (202). Too large
 * is 413 (announced by Content-Length: before reading; else as soon as the limit
 * passes, reading stops), another media type 415.
 */
export async function uploadHandler(deps: AdminDeps, req: Request, res: Response): Promise<void> {
  const layer = layerParam(req);
  const principal = requireScope(deps, res, layer);
  // Refused (not configured, mirrored, no jobs here) before a byte of the body is read.
  deps.jobs.assertPublishable(layer);
  const mediaType = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const kind = UPLOAD_TYPES[mediaType];
  if (!kind) {
    throw new HttpError(415, 'upload GeoJSON (application/geo+json) or a zipped Shapefile (application/zip)', { contentType: mediaType || null });
  }
  // The body is stored as it comes: a compressed one would fail its job as malformed, so say it now.
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '') {
    throw new HttpError(415, 'send the upload uncompressed (no Content-Encoding); zip a Shapefile instead', { contentEncoding: encoding });
  }
  const limit = deps.config.admin.maxUploadBytes;
  const declared = Number(req.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    res.setHeader('Connection', 'close');
    throw new HttpError(413, `the upload is larger than admin.maxUploadBytes (${limit} bytes)`, { limit, declared });
  }
  const name = fileNameOf(req);
  const job = await deps.jobs.enqueueUpload(layer, { kind, body: req, name, requestedBy: principal.name });
  noteAudit(res, { result: `queued job ${job.id} for source revision r${job.revision ?? '?'}`, detail: { job: job.id, revision: job.revision, name, kind } });
  res.status(202).location(`/admin/jobs/${job.id}`).json(job);
}

/** The client's file name (X-File-Name, URI-encoded), reduced to a display name: never used as a path. */
function fileNameOf(req: Request): string | null {
  const raw = req.get('x-file-name');
  if (!raw) return null;
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const base = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
  return base || null;
}

import { gunzipSync } from 'node:zlib';
import { Router, type Request, type Response } from 'express';
import { TileCoordError } from '../../domain/tile-coord.js';
import { parseTilePath, TilePathError, type TilePath } from '../../domain/tile-path.js';
import type { CatalogCache, Resolution } from '../../store/catalog-cache.js';
import type { TileStore } from '../../store/tile-store.js';
import { baseUrlOf } from '../base-url.js';
import { HttpError } from '../http-error.js';
import { buildTileJson } from '../tilejson.js';

/** What the tile routes need. */
export interface TileRouteDeps {
  store: TileStore;
  catalog: CatalogCache;
  publicUrl: string | undefined;
  trustProxy: boolean;
  /** max-age of current tiles and TileJSON, seconds. */
  currentMaxAge: number;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MVT_TYPE = 'application/vnd.mapbox-vector-tile';

/** GET /tiles/…: TileJSON, tiles and diffs, current and versioned. */
export function tileRoutes(deps: TileRouteDeps): Router {
  const router = Router();
  router.get(/^\/tiles\/(.+)$/, (req, res) => {
    const parsed = parseRequestPath(req.path.slice('/tiles/'.length));
    const resolved = resolveOrThrow(deps.catalog, parsed.layer, parsed.version);
    const cacheControl = resolved.current && parsed.version === null ? `public, max-age=${deps.currentMaxAge}` : IMMUTABLE;
    res.setHeader('X-Tile-Version', resolved.version.version);
    if (parsed.kind === 'tilejson') {
      res.setHeader('Cache-Control', cacheControl);
      res.json(buildTileJson(baseUrlOf(req, deps.publicUrl, deps.trustProxy), resolved.layer, resolved.version));
    } else if (parsed.kind === 'tile') {
      sendTile(req, res, deps, resolved, parsed, cacheControl);
    } else {
      sendDiff(res, deps, resolved, parsed.from);
    }
  });
  return router;
}

type Resolved = Extract<Resolution, { kind: 'ok' }>;

function parseRequestPath(rest: string): TilePath {
  try {
    return parseTilePath(decodeURIComponent(rest));
  } catch (err) {
    if (err instanceof TilePathError || err instanceof TileCoordError || err instanceof URIError) {
      throw new HttpError(400, err.message);
    }
    throw err;
  }
}

function resolveOrThrow(catalog: CatalogCache, layer: string, version: string | null): Resolved {
  const r = catalog.resolve(layer, version);
  switch (r.kind) {
    case 'ok': return r;
    case 'unknown-layer': throw new HttpError(404, `unknown layer "${layer}"`);
    case 'unknown-version': throw new HttpError(404, `layer "${layer}" has no version ${version}`);
    case 'pruned-version': throw new HttpError(410, `version ${version} of "${layer}" was removed by retention`, { layer, version });
  }
}

function sendTile(req: Request, res: Response, deps: TileRouteDeps, r: Resolved, p: Extract<TilePath, { kind: 'tile' }>, cacheControl: string): void {
  const { z, x, y } = p.coord;
  const meta = r.version.meta;
  if (z < meta.minzoom || z > meta.maxzoom) {
    throw new HttpError(404, `zoom ${z} is outside the zoom range ${meta.minzoom}–${meta.maxzoom} of "${r.layer.id}"`);
  }
  res.setHeader('Cache-Control', cacheControl);
  const tile = deps.store.getTile(r.version.vid, z, x, y);
  if (!tile) {
    res.status(204).end();
    return;
  }
  const gzip = acceptsGzip(req.get('accept-encoding'));
  const etag = gzip ? `"${tile.hash}.gz"` : `"${tile.hash}"`;
  res.setHeader('Vary', 'Accept-Encoding');
  res.setHeader('ETag', etag);
  if (matchesEtag(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Type', MVT_TYPE);
  if (gzip) {
    res.setHeader('Content-Encoding', 'gzip');
    res.end(tile.gz);
  } else {
    res.end(gunzipSync(tile.gz));
  }
}

function sendDiff(res: Response, deps: TileRouteDeps, to: Resolved, fromTag: string): void {
  const from = resolveOrThrow(deps.catalog, to.layer.id, fromTag);
  res.setHeader('Content-Type', 'application/x-ndjson');
  res.setHeader('Cache-Control', IMMUTABLE);
  let chunk = '';
  for (const entry of deps.store.diff(from.version.vid, to.version.vid)) {
    chunk += JSON.stringify(entry) + '\n';
    if (chunk.length > 65536) {
      res.write(chunk);
      chunk = '';
    }
  }
  res.end(chunk);
}

/** True when Accept-Encoding admits gzip (an explicit q=0 refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((s) => s.trim()).find((s) => s.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') return ok;
    if (name === '*') star = ok;
  }
  return star ?? false;
}

/** If-None-Match: any listed tag (weak or strong) equal to ours, or "*". */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type Response } from 'express';
import { TileCoordError } from '../../domain/tile-coord.js';
import { EMPTY_VERSION } from '../../domain/version-tag.js';
import { parseEncodedTilePath, TilePathError, type LayerSpec, type TilePath } from '../../domain/tile-path.js';
import type { CatalogCache } from '../../store/catalog-cache.js';
import type { TileStore } from '../../store/tile-store.js';
import { baseUrlOf } from '../base-url.js';
import { buildCompositeTileJson } from '../composite.js';
import { CORS_EXPOSED_HEADERS } from '../cors.js';
import { HttpError } from '../http-error.js';
import type { Metrics } from '../metrics.js';
import { quickTileAddress } from '../quick-tile-url.js';
import { TileCache } from '../tile-cache.js';
import { IMMUTABLE } from '../tile-response.js';
import { TileService, type Resolved } from '../tile-service.js';
import { buildTileJson } from '../tilejson.js';

export { acceptsGzip, matchesEtag } from '../tile-response.js';

/** What the tile routes need. */
export interface TileRouteDeps {
  store: TileStore;
  catalog: CatalogCache;
  publicUrl: string | undefined;
  trustProxy: boolean;
  /** max-age of current tiles and TileJSON, seconds. */
  currentMaxAge: number;
  /** The hot-tile cache; shared with the fast path when one is given. */
  cache?: TileCache;
  metrics?: Metrics | null;
}

/** The tile service behind a set of deps (one per app, so the router and the fast path share a cache). */
export function tileServiceFor(deps: TileRouteDeps): TileService {
  return new TileService({
    store: deps.store, catalog: deps.catalog, cache: deps.cache ?? new TileCache(), metrics: deps.metrics ?? null, currentMaxAge: deps.currentMaxAge,
  });
}

/** GET /tiles/…: TileJSON, tiles, composites and diffs, current and versioned; every error as an HttpError. */
export function tileRoutes(deps: TileRouteDeps, service = tileServiceFor(deps)): Router {
  const router = Router();
  router.get(/^\/tiles\/(.+)$/, async (req, res) => {
    const parsed = parseRequestPath(req.path.slice('/tiles/'.length));
    switch (parsed.kind) {
      case 'tilejson': {
        const r = resolveOrThrow(deps.catalog, parsed);
        res.setHeader('X-Tile-Version', r.version.version);
        res.setHeader('Cache-Control', parsed.version === null ? service.currentCacheControl : IMMUTABLE);
        res.json(buildTileJson(baseUrlOf(req, deps.publicUrl, deps.trustProxy), r.layer, r.version));
        return;
      }
      case 'tile': {
        const r = resolveOrThrow(deps.catalog, parsed);
        assertZoom([r], parsed.coord.z);
        service.serveTile(req, res, r, parsed.coord, parsed.version !== null);
        return;
      }
      case 'composite-tilejson': {
        const parts = parsed.layers.map((l) => resolveOrThrow(deps.catalog, l));
        res.setHeader('Cache-Control', parsed.layers.every((l) => l.version !== null) ? IMMUTABLE : service.currentCacheControl);
        res.json(buildCompositeTileJson(baseUrlOf(req, deps.publicUrl, deps.trustProxy), parts));
        return;
      }
      case 'composite-tile': {
        const parts = parsed.layers.map((l) => resolveOrThrow(deps.catalog, l));
        assertZoom(parts, parsed.coord.z);
        service.serveComposite(req, res, parts, parsed.coord, parsed.layers.every((l) => l.version !== null));
        return;
      }
      case 'diff':
        await sendDiff(res, deps, resolveOrThrow(deps.catalog, parsed), parsed.from);
    }
  });
  return router;
}

/** What the fast path answered: a tile or a composite tile (the route label of its metrics), or null when it declined. */
export type FastTileRoute = 'tile' | 'composite' | null;

/**
 * The hot path: a GET of a tile (or composite tile) that resolves cleanly is
 * answered here, before any router or middleware, with `requestId` and the CORS
 * headers sent in the same writeHead as the tile's own. Anything else — other
 * routes, and every error case — returns null and goes to the Express app, which
 * answers it with the same code plus its error mapping.
 */
export function fastTileHandler(service: TileService, cors: boolean): (req: IncomingMessage, res: ServerResponse, requestId: string) => FastTileRoute {
  const catalog = service.deps.catalog;
  const lead = (requestId: string): (string | number)[] => (cors
    ? ['X-Request-Id', requestId, 'Access-Control-Allow-Origin', '*', 'Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS]
    : ['X-Request-Id', requestId]);
  return (req, res, requestId) => {
    const url = req.url;
    if (url === undefined || !url.startsWith('/tiles/') || (req.method !== 'GET' && req.method !== 'HEAD')) return null;
    const q = url.indexOf('?');
    const end = q < 0 ? url.length : q;
    const quick = quickTileAddress(url, end);
    if (quick) {
      const r = catalog.resolve(quick.layer, quick.version);
      if (r.kind !== 'ok' || !TileService.inRange(r, quick.z)) return null;
      service.serveTile(req, res, r, quick, quick.version !== null, lead(requestId));
      return 'tile';
    }
    let parsed: TilePath;
    try {
      const rest = url.slice(7, end);
      parsed = parseEncodedTilePath(rest);
    } catch {
      return null;
    }
    if (parsed.kind === 'tile') {
      const r = catalog.resolve(parsed.layer, parsed.version);
      if (r.kind !== 'ok' || !TileService.inRange(r, parsed.coord.z)) return null;
      service.serveTile(req, res, r, parsed.coord, parsed.version !== null, lead(requestId));
      return 'tile';
    }
    if (parsed.kind === 'composite-tile') {
      const parts: Resolved[] = [];
      for (const l of parsed.layers) {
        const r = catalog.resolve(l.layer, l.version);
        if (r.kind !== 'ok') return null;
        parts.push(r);
      }
      if (!parts.some((p) => TileService.inRange(p, parsed.coord.z))) return null;
      service.serveComposite(req, res, parts, parsed.coord, parsed.layers.every((l) => l.version !== null), lead(requestId));
      return 'composite';
    }
    return null;
  };
}

function parseRequestPath(rest: string): TilePath {
  try {
    return parseEncodedTilePath(rest);
  } catch (err) {
    if (err instanceof TilePathError || err instanceof TileCoordError || err instanceof URIError) {
      throw new HttpError(400, err.message);
    }
    throw err;
  }
}

function resolveOrThrow(catalog: CatalogCache, spec: LayerSpec): Resolved {
  const { layer, version } = spec;
  const r = catalog.resolve(layer, version);
  switch (r.kind) {
    case 'ok': return r;
    case 'unknown-layer': throw new HttpError(404, `unknown layer "${layer}"`);
    case 'unknown-version': throw new HttpError(404, `layer "${layer}" has no version ${version}`);
    case 'pruned-version': throw new HttpError(410, `version ${version} of "${layer}" was removed by retention`, { layer, version });
  }
}

function assertZoom(parts: readonly Resolved[], z: number): void {
  if (parts.some((p) => TileService.inRange(p, z))) return;
  const ranges = parts.map((p) => `${p.version.meta.minzoom}–${p.version.meta.maxzoom} of "${p.layer.id}"`).join(', ');
  throw new HttpError(404, `zoom ${z} is outside the zoom range ${ranges}`);
}

/** Streams the diff as NDJSON, a store page at a time, waiting for the socket to drain so memory stays flat. */
async function sendDiff(res: Response, deps: TileRouteDeps, to: Resolved, fromTag: string): Promise<void> {
  const fromVid = fromTag === EMPTY_VERSION ? null : resolveOrThrow(deps.catalog, { layer: to.layer.id, version: fromTag }).version.vid;
  res.setHeader('X-Tile-Version', to.version.version);
  res.setHeader('Content-Type', 'application/x-ndjson');
  res.setHeader('Cache-Control', IMMUTABLE);
  let closed = false;
  res.once('close', () => { closed = true; });
  let chunk = '';
  for (const entry of deps.store.diff(fromVid, to.version.vid)) {
    chunk += JSON.stringify(entry) + '\n';
    if (chunk.length < 65536) continue;
    const flushed = res.write(chunk);
    chunk = '';
    if (!flushed && !closed) await drained(res);
    if (closed) return;
  }
  res.end(chunk);
}

/** Resolves once the response can take more data, or has closed. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

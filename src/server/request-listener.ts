import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Express } from 'express';
import { createApp, type AppDeps } from './create-app.js';
import { Metrics, type RouteLabel } from './metrics.js';
import { createRequestLog } from './request-log.js';
import { fastTileHandler, tileServiceFor } from './routes/tiles.js';
import { TileCache } from './tile-cache.js';
import type { TileService } from './tile-service.js';

/** The HTTP front of a node: what the server listens with, and the pieces behind it. */
export interface Front {
  /** Logs, counts and times every request; tiles take the fast path, everything else the Express app. */
  listener: RequestListener;
  app: Express;
  metrics: Metrics;
  tiles: TileService;
  /** Ends every open event stream (/events, /admin/events …): the first step of a graceful stop. */
  endStreams(): void;
}

/** What the front remembers of a request until its response closes. */
const STARTED = Symbol('plantiles.started');
const REQUEST_ID = Symbol('plantiles.requestId');
const ROUTE = Symbol('plantiles.route');
type Observed = ServerResponse & { [STARTED]: number; [REQUEST_ID]: string; [ROUTE]: RouteLabel | null };

/**
 * Builds the request listener. Express costs several times a tile's own work per
 * request, so a GET of a tile that resolves cleanly is answered before it (same
 * code, same cache); requests the fast path declines — other routes and every
 * error — go to the app, which owns the error mapping.
 */
export function createFront(deps: AppDeps): Front {
  const { config } = deps;
  const metrics = deps.metrics ?? new Metrics(deps.catalog);
  metrics.followJobs(deps.jobs);
  const tiles = deps.tileService ?? tileServiceFor({
    store: deps.store, catalog: deps.catalog, publicUrl: config.server.publicUrl, trustProxy: config.server.trustProxy,
    currentMaxAge: config.server.tileMaxAge, metrics, cache: new TileCache(),
  });
  metrics.gauge('plantiles_tile_cache_bytes', 'Bytes of tile bodies held by the hot-tile cache', () => tiles.deps.cache.size);
  metrics.counterFrom('plantiles_tile_cache_hits_total', 'Tile lookups answered from memory', () => tiles.deps.cache.hits);
  metrics.counterFrom('plantiles_tile_cache_misses_total', 'Tile lookups that read the store', () => tiles.deps.cache.misses);
  const app = createApp({ ...deps, metrics, tileService: tiles });
  const log = createRequestLog(deps.logger);
  const fast = fastTileHandler(tiles, config.server.cors);
  const open = new Set<ServerResponse>();
  // One listener function for every response (its state rides on the response), not closures per request.
  function onClose(this: Observed): void {
    const ms = performance.now() - this[STARTED];
    log.finish(this.req, this, this[REQUEST_ID], ms);
    metrics.observe(this.req, this, ms / 1000, this[ROUTE]);
    if (this[ROUTE] === null) open.delete(this);
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const observed = res as Observed;
    observed[STARTED] = performance.now();
    const id = log.idOf(req);
    observed[REQUEST_ID] = id;
    res.on('close', onClose);
    // The fast path sends the id with its own headers, in one writeHead.
    observed[ROUTE] = fast(req, res, id);
    if (observed[ROUTE] !== null) return;
    res.setHeader('X-Request-Id', id);
    // Only requests past the fast path can turn into long-lived streams.
    open.add(res);
    app(req, res);
  };
  const endStreams = (): void => {
    for (const res of open) {
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
    }
  };
  return { listener, app, metrics, tiles, endStreams };
}

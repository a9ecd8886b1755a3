import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import type { ChangeFeed } from '../events/change-feed.js';
import type { CatalogCache } from '../store/catalog-cache.js';
import type { TileStore } from '../store/tile-store.js';
import { errorHandler, notFoundHandler } from './http-error.js';
import { maplibreDistDir, viewerDir } from './package-paths.js';
import { catalogRoutes } from './routes/catalog.js';
import { eventRoutes } from './routes/events.js';
import { tileRoutes } from './routes/tiles.js';

/** Everything the HTTP app is built from; injected so tests use real pieces over temp dirs. */
export interface AppDeps {
  config: Config;
  store: TileStore;
  catalog: CatalogCache;
  feed: ChangeFeed;
  logger: Logger;
}

/** Builds the Express app (it never listens; the CLI does). */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
  if (config.server.cors) app.use(cors);
  app.use(tileRoutes({
    store: deps.store, catalog: deps.catalog, publicUrl: config.server.publicUrl,
    trustProxy: config.server.trustProxy, currentMaxAge: config.server.tileMaxAge,
  }));
  app.use(catalogRoutes(config, deps.catalog));
  app.use(eventRoutes(deps.feed));
  app.use('/vendor/maplibre-gl', express.static(maplibreDistDir(), { maxAge: '1d', fallthrough: false }));
  app.use(express.static(viewerDir(), { maxAge: 0, index: 'index.html' }));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

const cors: RequestHandler = (req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'ETag, X-Tile-Version, Content-Encoding, Location');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-None-Match, Last-Event-ID');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
};

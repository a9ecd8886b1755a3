import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import type { ChangeFeed } from '../events/change-feed.js';
import type { Jobs } from '../jobs/jobs.js';
import type { CatalogCache } from '../store/catalog-cache.js';
import type { AuditLog } from '../store/sqlite-audit.js';
import type { TileStore } from '../store/tile-store.js';
import type { AdminAuth } from './auth.js';
import { corsMiddleware } from './cors.js';
import { errorHandler, notFoundHandler } from './http-error.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { API_PATHS } from './openapi.js';
import { Metrics } from './metrics.js';
import { maplibreDistDir, viewerDir } from './package-paths.js';
import { olPageRoutes } from './ol/ol-page.js';
import { adminRoutes } from './routes/admin.js';
import { catalogRoutes } from './routes/catalog.js';
import { eventRoutes } from './routes/events.js';
import { operationsRoutes } from './routes/operations.js';
import { mirrorRoutes, type MirrorStatusProvider } from './routes/mirrors.js';
import { tileRoutes } from './routes/tiles.js';
import type { TileService } from './tile-service.js';

/** Everything the HTTP app is built from; injected so tests use real pieces over temp dirs. */
export interface AppDeps {
  config: Config;
  store: TileStore;
  catalog: CatalogCache;
  feed: ChangeFeed;
  logger: Logger;
  /** Publish jobs: the admin API queues them and follows their progress. */
  jobs: Jobs;
  /** Admin bearer tokens and their layer scopes. */
  auth: AdminAuth;
  /** Where admin actions are recorded. */
  audit: AuditLog;
  /** The running mirrors, for GET /mirrors (none when the node follows no upstream). */
  mirrors?: MirrorStatusProvider;
  /** The metrics registry; one is made when absent. Publishes report durations to it. */
  metrics?: Metrics;
  /** The tile service (and its hot-tile cache) shared with the fast path in front of the app. */
  tileService?: TileService;
}

/** Builds the Express app (it never listens; the CLI does). */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const metrics = deps.metrics ?? new Metrics(deps.catalog);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
  if (config.server.cors) app.use(corsMiddleware);
  app.use(tileRoutes({
    store: deps.store, catalog: deps.catalog, publicUrl: config.server.publicUrl,
    trustProxy: config.server.trustProxy, currentMaxAge: config.server.tileMaxAge, metrics,
  }, deps.tileService));
  app.use(catalogRoutes(config, deps.catalog));
  app.use(eventRoutes(deps.feed, metrics));
  app.use(operationsRoutes(config, metrics));
  app.use(mirrorRoutes(config.node.id, deps.mirrors));
  app.use(adminRoutes(deps));
  app.use('/vendor/maplibre-gl', express.static(maplibreDistDir(), { maxAge: '1d', fallthrough: false }));
  app.use(olPageRoutes());
  app.use(express.static(viewerDir(), { maxAge: 0, index: 'index.html' }));
  app.use(methodNotAllowed(API_PATHS));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

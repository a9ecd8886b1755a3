import pino, { type Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import { JobSystem } from '../../pipeline/jobs/job-system.js';
import { ChangeFeed } from '../events/change-feed.js';
import { AdminAuth } from '../server/auth.js';
import { CatalogCache } from '../store/catalog-cache.js';
import { SqliteAudit } from '../store/sqlite-audit.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { TileStore } from '../store/tile-store.js';

/** The long-lived pieces a command works with. */
export interface Runtime {
  config: Config;
  store: TileStore;
  catalog: CatalogCache;
  feed: ChangeFeed;
  logger: Logger;
  /** Publish jobs; inert until serve starts them. */
  jobs: JobSystem;
  /** Admin tokens (secrets read from the environment). */
  auth: AdminAuth;
  audit: SqliteAudit;
  close(): void;
}

/** Opens the store of a config and builds the shared pieces around it. */
export function openRuntime(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Runtime {
  const store = openSqliteStore(config.storage.dir);
  const catalog = new CatalogCache(store);
  const feed = new ChangeFeed(store, catalog);
  const audit = new SqliteAudit(store.db);
  const auth = AdminAuth.fromConfig(config.admin.tokens, env);
  const jobs = new JobSystem({ config, db: store.db, audit, logger, onPublished: () => feed.poll(true) });
  return {
    config, store, catalog, feed, logger, jobs, auth, audit,
    close: () => {
      jobs.close();
      feed.stop();
      store.close();
    },
  };
}

/** JSON logs (pino); commands other than serve log warnings and errors to stderr only. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino({ level, base: { app: 'plantiles' } }, pino.destination({ fd: destination, sync: true }));
}

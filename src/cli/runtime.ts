import pino, { type Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import { JobSystem } from '../../pipeline/jobs/job-system.js';
import { ChangeFeed } from '../events/change-feed.js';
import { AdminAuth } from '../server/auth.js';
import { CatalogCache } from '../store/catalog-cache.js';
import { SqliteAudit } from '../store/sqlite-audit.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { TileStore } from '../store/tile-store.js';
import { UsageError } from './cli-error.js';
import { BatchedLogDestination } from './log-destination.js';

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
      // A buffered destination writes what it holds (pino also does this at process exit).
      logger.flush();
    },
  };
}

/**
 * JSON logs (pino). On stdout (serve) lines are gathered and written in blocks
 * (BatchedLogDestination: at once to a file, asynchronously to a pipe): a write syscall
 * per request line, or sonic-boom's own per-line buffering, would cost the tile fast
 * path more than the rest of its logging.
 * What is gathered is written when the process exits, and within half a second
 * otherwise. Commands other than serve log warnings and errors to stderr only,
 * synchronously, so they stay in order with the command's own output.
 * PLANTILES_LOG_LEVEL overrides `level`.
 */
export function createLogger(level: string, destination: 1 | 2 = 1, env: NodeJS.ProcessEnv = process.env): Logger {
  const chosen = env.PLANTILES_LOG_LEVEL ?? level;
  if (!(chosen in pino.levels.values) && chosen !== 'silent') {
    throw new UsageError(`PLANTILES_LOG_LEVEL: "${chosen}" is not a log level (${Object.keys(pino.levels.values).join(', ')}, silent)`);
  }
  const stream = destination === 1 ? BatchedLogDestination.toFd(1) : pino.destination({ fd: 2, sync: true });
  return pino({ level: chosen, base: { app: 'plantiles' } }, stream);
}

import pino, { type Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import { ChangeFeed } from '../events/change-feed.js';
import { CatalogCache } from '../store/catalog-cache.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { TileStore } from '../store/tile-store.js';

/** The long-lived pieces a command works with. */
export interface Runtime {
  config: Config;
  store: TileStore;
  catalog: CatalogCache;
  feed: ChangeFeed;
  logger: Logger;
  close(): void;
}

/** Opens the store of a config and builds the shared pieces around it. */
export function openRuntime(config: Config, logger: Logger): Runtime {
  const store = openSqliteStore(config.storage.dir);
  const catalog = new CatalogCache(store);
  const feed = new ChangeFeed(store, catalog);
  return {
    config, store, catalog, feed, logger,
    close: () => {
      feed.stop();
      store.close();
    },
  };
}

/** JSON logs (pino); commands other than serve log warnings and errors to stderr only. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino({ level, base: { app: 'plantiles' } }, pino.destination({ fd: destination, sync: true }));
}

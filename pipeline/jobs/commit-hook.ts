import type Database from 'better-sqlite3';
import type { CommitResult, TileStore, VersionBuild } from '../../src/store/tile-store.js';

/**
 * A view of `store` whose builds run `hook` inside the commit transaction: the job's
 * outcome, the upload's activation and the source fingerprint are written atomically
 * with the version, so a kill can never leave a published version behind a job that
 * still says "running", or a job that says "succeeded" without its version.
 * The store's own transaction nests as a savepoint inside ours (better-sqlite3).
 */
export function withCommitHook(store: TileStore, db: Database.Database, hook: (result: CommitResult) => void): TileStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'beginBuild') {
        return (...args: Parameters<TileStore['beginBuild']>): VersionBuild => hookBuild(target.beginBuild(...args), db, hook);
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function hookBuild(build: VersionBuild, db: Database.Database, hook: (result: CommitResult) => void): VersionBuild {
  return new Proxy(build, {
    get(target, prop, receiver) {
      if (prop === 'commit') {
        return (...args: Parameters<VersionBuild['commit']>): CommitResult =>
          db.transaction((): CommitResult => {
            const result = target.commit(...args);
            hook(result);
            return result;
          }).immediate();
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

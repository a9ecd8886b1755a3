import type { Logger } from 'pino';
import type { MirrorConfig } from '../../src/config/schema.js';
import type { MirrorStatus, MirrorStatusProvider } from '../../src/server/routes/mirrors.js';
import type { TileStore } from '../../src/store/tile-store.js';
import { Mirror } from './mirror.js';
import type { LayerSyncOutcome } from './sync-layer.js';

/** The mirrors a node runs, as one handle. */
export interface RunningMirrors extends MirrorStatusProvider {
  mirrors: Mirror[];
  stop(): Promise<void>;
}

/** What starting the configured mirrors needs. */
export interface StartMirrorsDeps {
  store: TileStore;
  nodeId: string;
  keepVersions: number;
  logger: Logger;
  onChanged?: (outcome: LayerSyncOutcome) => void;
}

/** Starts one follower per configured mirror (none when `mirrors` is empty). */
export function startMirrors(configs: readonly MirrorConfig[], deps: StartMirrorsDeps): RunningMirrors {
  const mirrors = configs.map((config) => new Mirror(config, deps));
  for (const m of mirrors) m.start();
  return {
    mirrors,
    status: (): MirrorStatus[] => mirrors.map((m) => m.status()),
    stop: async () => {
      await Promise.all(mirrors.map((m) => m.stop()));
    },
  };
}

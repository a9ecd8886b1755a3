// The tiling benchmark's publish child: publishes one layer of a config as the CLI does
// and prints its figures as JSON. A module of its own, so the child loads what a publish
// loads and not the benchmark's own code (which would count in its wall time).
import { publishLayer, type PublishStage } from '../pipeline/publish/publish-layer.js';
import { loadConfig } from '../src/config/load-config.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';

/** What the publish child reports besides the tiles. */
export interface PublishFigures {
  seconds: number;
  cpuSeconds: number;
  peakRss: number;
  /** Seconds spent in each stage. */
  stages: Partial<Record<PublishStage, number>>;
  mode: string;
  tiles: number;
  recomputedTiles: number;
  reusedFeatures: number;
  recalledFeatures: number;
  changedTiles: number;
  featureChanges: Record<string, number> | null;
  adjusted: number;
}

/** Publishes one layer of a config, prints figures as JSON. */
async function runChild(configFile: string, layerId: string): Promise<void> {
  const config = loadConfig(configFile, {});
  const layer = config.layers.find((l) => l.id === layerId);
  if (!layer) throw new Error(`no layer ${layerId} in ${configFile}`);
  const store = openSqliteStore(config.storage.dir);
  const start = performance.now();
  const cpu = process.cpuUsage();
  const stages: Partial<Record<PublishStage, number>> = {};
  let stage: PublishStage = 'ingest';
  let since = start;
  const result = await publishLayer(layer, {
    store, keepVersions: config.storage.keepVersions, defaultAttribution: 'bench',
    onProgress: (p) => {
      if (p.stage === stage) return;
      const now = performance.now();
      stages[stage] = (now - since) / 1000;
      [stage, since] = [p.stage, now];
    },
  });
  store.close();
  const used = process.cpuUsage(cpu);
  const figures: PublishFigures = {
    seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6,
    peakRss: process.resourceUsage().maxRSS * 1024, stages, mode: result.mode, tiles: result.tiles,
    recomputedTiles: result.recomputedTiles, reusedFeatures: result.reusedFeatures, recalledFeatures: result.recalledFeatures, changedTiles: result.changedTiles,
    featureChanges: result.featureChanges as Record<string, number> | null, adjusted: result.budget.adjusted.length,
  };
  console.log(JSON.stringify(figures));
}

await runChild(process.argv[2] as string, process.argv[3] as string);

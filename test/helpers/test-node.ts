import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadConfig, type Config } from '../../src/config/load-config.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import { makeParcels, parcelConfig, writeGeojson } from './fixtures.js';
import type { TileStore } from '../../src/store/tile-store.js';

/** A temp folder removed by cleanup(). */
export function makeTempDir(prefix = 'plantiles-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a config file (YAML) into dir and loads it the way the CLI does. */
export function writeConfig(dir: string, doc: Record<string, unknown>): Config {
  const file = path.join(dir, 'plantiles.yaml');
  writeFileSync(file, stringify(doc));
  return loadConfig(file, {});
}

/** A real node: a real SQLite store in a temp dir and the real server on an ephemeral loopback port. */
export interface TestNode {
  dir: string;
  rt: Runtime;
  server: RunningServer;
  url: string;
  publish(layerId: string): Promise<PublishResult>;
  stop(): Promise<void>;
}

/** Starts a node over `config` (storage under the config's own folder). */
export async function startTestNode(config: Config): Promise<TestNode> {
  const rt = openRuntime(config, pino({ level: 'silent' }));
  const server = await startServer(rt, '127.0.0.1', 0);
  return {
    dir: path.dirname(config.file),
    rt,
    server,
    url: server.url,
    publish: async (layerId) => {
      const layer = config.layers.find((l) => l.id === layerId);
      if (!layer) throw new Error(`no layer ${layerId}`);
      const result = await publishLayer(layer, { store: rt.store, keepVersions: config.storage.keepVersions, defaultAttribution: config.node.title });
      rt.feed.poll(true);
      return result;
    },
    stop: async () => {
      await server.stop();
      rt.close();
    },
  };
}

/** Removes a temp folder. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A node over the parcel fixture, published once: what most server tests start from. */
export async function startParcelNode(): Promise<{ dir: string; source: string; node: TestNode }> {
  const dir = makeTempDir();
  const source = path.join(dir, 'parcels.geojson');
  writeGeojson(source, makeParcels());
  const node = await startTestNode(writeConfig(dir, parcelConfig()));
  await node.publish('parcels');
  return { dir, source, node };
}

/** Stops a node and removes its folder. */
export async function stopNode(node: TestNode, dir: string): Promise<void> {
  await node.stop();
  removeDir(dir);
}

/** Every tile of a store's current version of `layer`, as z/x/y → hash. */
export function currentTileHashes(store: TileStore, layer: string): Map<string, string> {
  const vid = store.getLayer(layer)?.currentVid;
  if (!vid) throw new Error(`${layer} has no current version`);
  return new Map([...store.iterateTiles(vid)].map((t) => [`${t.z}/${t.x}/${t.y}`, t.hash]));
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parse } from 'yaml';
import { generateDemo } from '../../pipeline/demo/generate-demo.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** The repository's own config (config/plantiles.yaml): the demo's layers and styles as users see them. */
const PRODUCT_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/plantiles.yaml');
/** The environment variable the demo node's admin token is read from. */
const ADMIN_TOKEN_ENV = 'PLANTILES_E2E_ADMIN_TOKEN';
/** The admin token of every demo node (covers every layer). */
export const DEMO_ADMIN_TOKEN = 'e2e-admin-secret-7c41d9b2a05e';

/** A real node serving the synthetic demo city from a temp dir, its job system running. */
export interface DemoNode {
  /** The node's temp dir (holds plantiles.yaml and the store). */
  dir: string;
  /** Folder holding the demo's source files. */
  demoDir: string;
  rt: Runtime;
  server: RunningServer;
  url: string;
  /** Publishes a layer in this process, as the CLI does; the server's change feed sees it at once. */
  publish(layerId: string): Promise<PublishResult>;
  /** Stops the HTTP server, runs `whileDown` (the store stays open: a publish works), and serves again on the same port. */
  restartServer(whileDown: () => Promise<void>): Promise<void>;
  /** Stops the server and the jobs, and removes the temp dir. */
  dispose(): Promise<void>;
}

/**
 * Generates the demo into a temp dir and starts a node the way `plantiles serve` does
 * (jobs, admin API with DEMO_ADMIN_TOKEN), with the product config's layers: titles, zoom
 * ranges and styles unchanged, sources pointed at the temp demo. Then publishes `publish`
 * in order; layers not listed stay configured but unpublished.
 */
export async function startDemoNode(publish: readonly string[]): Promise<DemoNode> {
  const dir = makeTempDir('plantiles-demo-');
  const demoDir = path.join(dir, 'demo');
  await generateDemo(demoDir);
  const product = parse(readFileSync(PRODUCT_CONFIG, 'utf8')) as { node: unknown; layers: { source: string }[] };
  const config = writeConfig(dir, {
    node: product.node,
    storage: { dir: './store', keepVersions: 20 },
    admin: { tokens: [{ name: 'city', env: ADMIN_TOKEN_ENV, layers: ['*'] }] },
    layers: product.layers.map((layer) => ({ ...layer, source: `demo/${path.basename(layer.source)}` })),
  });
  const rt = openRuntime(config, pino({ level: 'silent' }), { [ADMIN_TOKEN_ENV]: DEMO_ADMIN_TOKEN });
  await rt.jobs.start();
  const server = await startServer(rt, '127.0.0.1', 0);
  const dispose = async (): Promise<void> => {
    await Promise.all([node.server.stop(1000), rt.jobs.stop()]);
    rt.close();
    removeDir(dir);
  };
  const node: DemoNode = {
    dir, demoDir, rt, server, url: server.url, dispose,
    restartServer: async (whileDown) => {
      const port = Number(new URL(node.url).port);
      await node.server.stop(1000);
      await whileDown();
      node.server = await startServer(rt, '127.0.0.1', port);
    },
    publish: async (layerId) => {
      const layer = config.layers.find((l) => l.id === layerId);
      if (!layer) throw new Error(`no layer ${layerId}`);
      const result = await publishLayer(layer, { store: rt.store, keepVersions: config.storage.keepVersions, defaultAttribution: config.node.title });
      rt.feed.poll(true);
      return result;
    },
  };
  try {
    for (const id of publish) await node.publish(id);
  } catch (err) {
    await dispose();
    throw err;
  }
  return node;
}

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateParcels } from '../../bench/generate-parcels.js';
import { publishLayer } from '../../pipeline/publish/publish-layer.js';
import type { Config } from '../../src/config/load-config.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { currentTileHashes, makeTempDir, removeDir, startTestNode, writeConfig } from '../helpers/test-node.js';


// Output must not depend on how the work is split: worker count, piece size, this thread or others.
describe('tiling determinism', () => {
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    dir = makeTempDir();
    await generateParcels(path.join(dir, 'parcels.geojson'), 6000, 99);
    config = writeConfig(dir, {
      node: { id: 'n', title: 't' }, storage: { dir: './store' },
      // A tight budget, so dropping and simplification are part of what must come out the same.
      layers: [
        { id: 'parcels', source: 'parcels.geojson', idField: 'BSM', minzoom: 5, maxzoom: 14, maxTileBytes: 40_000 },
        { id: 'statutory', source: 'parcels.geojson', idField: 'BSM', minzoom: 8, maxzoom: 13, maxTileBytes: 40_000, drop: 'never', tolerance: { '8-10': 6 } },
      ],
    });
  });
  afterAll(() => removeDir(dir));

  const publishInto = async (name: string, layerId: string, workers: number, pieceFeatures?: number): Promise<Map<string, string>> => {
    const store = openSqliteStore(path.join(dir, name));
    try {
      const layer = config.layers.find((l) => l.id === layerId) as Config['layers'][number];
      const result = await publishLayer(layer, { store, keepVersions: 2, defaultAttribution: 't', workers, pieceFeatures });
      expect(result.mode).toBe('full');
      return currentTileHashes(store, layerId);
    } finally {
      store.close();
    }
  };

  for (const layerId of ['parcels', 'statutory']) {
    it(`${layerId}: 1 worker and 2 workers, big and small pieces, on this thread: the same tiles`, async () => {
      const one = await publishInto(`${layerId}-w1`, layerId, 1);
      expect(one.size).toBeGreaterThan(200);
      expect(await publishInto(`${layerId}-w2`, layerId, 2)).toEqual(one);
      expect(await publishInto(`${layerId}-w2-small`, layerId, 2, 200)).toEqual(one);
      expect(await publishInto(`${layerId}-here`, layerId, 0, 1500)).toEqual(one);
    });
  }

  it('keeps answering requests while a publish runs', async () => {
    const node = await startTestNode(config);
    try {
      let finished = false;
      const publishing = node.publish('parcels').then((r) => {
        finished = true;
        return r;
      });
      // Requests issued while the publish runs are answered before it ends.
      const answered: boolean[] = [];
      for (let i = 0; i < 5 && !finished; i++) {
        const res = await fetch(`${node.url}/healthz`);
        expect(res.status).toBe(200);
        answered.push(!finished);
      }
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.every(Boolean)).toBe(true);
      expect((await publishing).state).toBe('published');
    } finally {
      await node.stop();
    }
  });
});

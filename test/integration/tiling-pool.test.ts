import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editParcels, generateParcels } from '../../bench/generate-parcels.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import type { TileJob } from '../../pipeline/tile/tile-job.js';
import type { FromWorker, ToWorker } from '../../pipeline/tile/tile-worker.js';
import { TilingPool } from '../../pipeline/tile/tiling-pool.js';
import type { Config } from '../../src/config/load-config.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

// A long-lived publishing thread keeps its tiling threads between publishes: they must cut
// exactly what fresh threads cut, whatever they cut before, and hold nothing in between.
describe('tiling threads kept between publishes', () => {
  let dir: string;
  let config: Config;
  let pool: TilingPool;
  let kept: SqliteStore;
  let fresh: SqliteStore;

  beforeAll(async () => {
    dir = makeTempDir();
    await generateParcels(path.join(dir, 'v1.geojson'), 4000, 5);
    await editParcels(path.join(dir, 'v1.geojson'), path.join(dir, 'v2.geojson'), { share: 0.02, layout: 'patches', seed: 6 });
    await generateParcels(path.join(dir, 'other.geojson'), 3000, 8);
    copyFileSync(path.join(dir, 'v1.geojson'), path.join(dir, 'parcels.geojson'));
    config = writeConfig(dir, {
      node: { id: 'n', title: 't' }, storage: { dir: './unused' },
      layers: [
        { id: 'parcels', source: 'parcels.geojson', idField: 'BSM', minzoom: 6, maxzoom: 13, maxTileBytes: 40_000 },
        { id: 'other', source: 'other.geojson', idField: 'BSM', minzoom: 4, maxzoom: 12 },
      ],
    });
    pool = new TilingPool(10 * 60_000);
    kept = openSqliteStore(path.join(dir, 'kept'));
    fresh = openSqliteStore(path.join(dir, 'fresh'));
  });
  afterAll(async () => {
    kept.close();
    fresh.close();
    await pool.close();
    removeDir(dir);
  });

  const layerOf = (id: string): Config['layers'][number] => config.layers.find((l) => l.id === id) as Config['layers'][number];
  const publish = (store: SqliteStore, id: string, tilingPool?: TilingPool): Promise<PublishResult> =>
    publishLayer(layerOf(id), { store, keepVersions: 3, defaultAttribution: 't', workers: 2, ...(tilingPool ? { tilingPool } : {}) });
  /** Publishes a layer with kept threads and with fresh ones; both must give the same tiles. */
  const both = async (id: string): Promise<PublishResult> => {
    const a = await publish(kept, id, pool);
    const b = await publish(fresh, id);
    expect(a.state).toBe(b.state);
    expect(a.mode).toBe(b.mode);
    const tiles = currentTileHashes(kept, id);
    expect(tiles.size).toBeGreaterThan(50);
    expect(tiles).toEqual(currentTileHashes(fresh, id));
    return a;
  };

  it('cut the same tiles as fresh threads, publish after publish, and are started once', async () => {
    expect((await both('parcels')).mode).toBe('full');
    expect(pool.size).toBe(2);
    await both('other');
    copyFileSync(path.join(dir, 'v2.geojson'), path.join(dir, 'parcels.geojson'));
    const republish = await both('parcels');
    expect(republish.mode).toBe('incremental');
    expect(republish.changedTiles).toBeGreaterThan(0);
    expect(pool.started).toBe(2);
    expect(pool.size).toBe(2);
  });

  it('let go of their last layer: a kept thread given a job without a setup refuses it', async () => {
    const [worker] = pool.take(1) as [Worker];
    try {
      const job: TileJob = { root: { z: 0, x: 0, y: 0 }, features: new Int32Array(0), tiles: 'subtree' };
      const answer = new Promise<FromWorker>((resolve) => worker.once('message', resolve));
      worker.postMessage({ type: 'job', id: 1, job } satisfies ToWorker);
      expect(await answer).toMatchObject({ type: 'failed', id: 1, message: expect.stringContaining('before the worker was set up') });
    } finally {
      await pool.giveBack([worker]);
    }
    expect(pool.size).toBe(2);
  });

  it('are ended by a publish that fails, and the next publish starts new ones', async () => {
    const started = pool.started;
    writeFileSync(path.join(dir, 'parcels.geojson'), '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"BSM":"x"},"geometry":');
    await expect(publish(kept, 'parcels', pool)).rejects.toThrow(/parcels\.geojson/);
    expect(pool.size).toBe(0);
    copyFileSync(path.join(dir, 'v2.geojson'), path.join(dir, 'parcels.geojson'));
    expect((await publish(kept, 'parcels', pool)).state).toBe('unchanged');
    expect(pool.started).toBe(started + 2);
    expect(pool.size).toBe(2);
  });

  it('end on their own when no publish takes them in time', async () => {
    const brief = new TilingPool(50);
    const workers = brief.take(2);
    const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
    await brief.giveBack(workers);
    expect(brief.size).toBe(2);
    await Promise.all(exits);
    expect(brief.size).toBe(0);
  });
});

import type { Feature, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { parcelRing, seededRandom } from '../../bench/generate-parcels.js';
import { packFeatures } from '../../pipeline/tile/feature-table.js';
import { TilingThreads } from '../../pipeline/tile/run-jobs.js';
import { tileNumber, type TileOutput } from '../../pipeline/tile/tile-job.js';
import { tileLayer } from '../../pipeline/tile/tile-layer.js';
import { resolveTilingOptions } from '../../pipeline/tile/tile-options.js';
import { configSchema } from '../../src/config/schema.js';

const layer = configSchema.parse({ layers: [{ id: 'parcels', source: 'p.geojson', minzoom: 6, maxzoom: 12 }] }).layers[0];
const options = resolveTilingOptions(layer as NonNullable<typeof layer>);

function table(): ReturnType<typeof packFeatures> {
  const rnd = seededRandom(7);
  return packFeatures(Array.from({ length: 3000 }, (_, i): Feature<Polygon, { BSM: string }> => {
    const [cx, cy, r] = [116 + rnd() * 0.5, 36.3 + rnd() * 0.4, 0.0005 + rnd() * 0.002];
    return { type: 'Feature', id: 1000 + i, properties: { BSM: `B${i}` }, geometry: { type: 'Polygon', coordinates: [parcelRing(cx, cy, r, r, 6 + (i % 9), rnd)] } };
  }));
}

async function tiles(run: { workers: number; threads?: TilingThreads; pieceFeatures?: number }): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  await tileLayer(table(), options, { ...run, onTiles: (list: TileOutput[]) => list.forEach((t) => out.set(tileNumber(t.z, t.x, t.y), t.hash)) });
  return out;
}

describe('tiling threads started ahead of their layer', () => {
  it('are set up with the layer when taken, cut the same tiles, and those not taken are ended', async () => {
    const here = await tiles({ workers: 0 });
    const threads = new TilingThreads(3);
    expect(threads.waiting).toBe(3);
    const ahead = await tiles({ workers: 2, threads, pieceFeatures: 500 });
    expect(threads.waiting).toBe(1);
    await threads.close(true);
    expect(threads.waiting).toBe(0);
    expect(here.size).toBeGreaterThan(50);
    expect(ahead).toEqual(here);
  });
});

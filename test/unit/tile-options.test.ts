import { describe, expect, it } from 'vitest';
import { resolveTilingOptions, tilingKey } from '../../pipeline/tile/tile-options.js';
import { configSchema } from '../../src/config/schema.js';

const layerOf = (extra: Record<string, unknown>) =>
  configSchema.parse({ layers: [{ id: 'l', source: 'l.geojson', minzoom: 4, maxzoom: 14, ...extra }] }).layers[0] as ReturnType<typeof configSchema.parse>['layers'][number];

const issuesOf = (extra: Record<string, unknown>): string[] => {
  const r = configSchema.safeParse({ layers: [{ id: 'l', source: 'l.geojson', ...extra }] });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('per-zoom tiling options', () => {
  it('defaults: tolerance 3, buffer 64, every field, 500 KiB budget, drop smallest', () => {
    const o = resolveTilingOptions(layerOf({}));
    expect(o.zooms).toHaveLength(15);
    expect(o.zooms[9]).toEqual({ tolerance: 3, buffer: 64, fields: null });
    expect(o).toMatchObject({ maxTileBytes: 512_000, drop: 'smallest', minzoom: 4, maxzoom: 14 });
  });

  it('takes tolerance, buffer and fields by zoom range; zooms not named take the default', () => {
    const o = resolveTilingOptions(layerOf({
      tolerance: { '0-9': 8, '10': 5 }, buffer: { '12-14': 128 },
      fields: ['BSM', 'DLBM', 'DLMC'], fieldsByZoom: { '4-11': ['DLBM'] }, drop: 'never', maxTileBytes: 200_000,
    }));
    expect(o.zooms[9]).toEqual({ tolerance: 8, buffer: 64, fields: ['DLBM'] });
    expect(o.zooms[10]).toEqual({ tolerance: 5, buffer: 64, fields: ['DLBM'] });
    expect(o.zooms[12]).toEqual({ tolerance: 3, buffer: 128, fields: ['BSM', 'DLBM', 'DLMC'] });
    expect(o).toMatchObject({ drop: 'never', maxTileBytes: 200_000 });
  });

  it('gives a different tiling key whenever the tiles would differ', () => {
    const base = tilingKey(resolveTilingOptions(layerOf({})));
    expect(tilingKey(resolveTilingOptions(layerOf({})))).toBe(base);
    for (const change of [{ tolerance: 4 }, { buffer: 32 }, { drop: 'never' }, { maxTileBytes: 100_000 }, { fieldsByZoom: { '4-8': ['A'] } }, { maxzoom: 13 }]) {
      expect(tilingKey(resolveTilingOptions(layerOf(change))), JSON.stringify(change)).not.toBe(base);
    }
  });

  it('refuses malformed or overlapping zoom ranges, a tiny budget and an unknown drop mode, naming the key', () => {
    expect(issuesOf({ tolerance: { '9-4': 3 } }).join()).toMatch(/tolerance/);
    expect(issuesOf({ buffer: { '0-9': 8, '9-12': 2 } }).join()).toMatch(/buffer.*overlap/);
    expect(issuesOf({ fieldsByZoom: { low: ['A'] } }).join()).toMatch(/fieldsByZoom/);
    expect(issuesOf({ maxTileBytes: 10 }).join()).toMatch(/maxTileBytes/);
    expect(issuesOf({ drop: 'sometimes' }).join()).toMatch(/drop/);
    expect(issuesOf({ tolerance: { '0-9': 8 }, buffer: 16, drop: 'never', maxTileBytes: 4096 })).toEqual([]);
  });
});

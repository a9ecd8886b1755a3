import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../pipeline/pipeline-error.js';
import { CoverageCheck } from '../../pipeline/tile/check-coverage.js';
import { anchorOf, packFeatures } from '../../pipeline/tile/feature-table.js';
import { tileNumber, type TileOutput } from '../../pipeline/tile/tile-job.js';
import { resolveTilingOptions } from '../../pipeline/tile/tile-options.js';
import { configSchema } from '../../src/config/schema.js';

const table = packFeatures([0, 1, 2].map((i) => ({
  type: 'Feature' as const, id: 10 + i, properties: { BSM: `B${i}` },
  // Far apart, so each feature has tiles of its own at zooms 5 and 6.
  geometry: { type: 'Polygon' as const, coordinates: [[[100 + 15 * i, 36], [100.001 + 15 * i, 36], [100.001 + 15 * i, 36.001], [100 + 15 * i, 36], [100 + 15 * i, 36]]] },
})));
const options = resolveTilingOptions(configSchema.parse({ layers: [{ id: 'pbf', source: 'p.geojson', minzoom: 5, maxzoom: 6, drop: 'never' }] }).layers[0] as never);
const ownerOf = (i: number, z: number): { z: number; x: number; y: number } => {
  const [ax, ay] = anchorOf(table, i);
  return { z, x: Math.floor(ax * 2 ** z), y: Math.floor(ay * 2 ** z) };
};
const tile = (i: number[], z: number): TileOutput => ({ ...ownerOf(i[0] ?? 0, z), hash: 'h', gz: new Uint8Array(0), plainSize: 0, present: Int32Array.from(i), budget: null, reused: 0 });

// The check after tiling a drop: never layer fails the job when a feature is missing from a zoom.
describe('the drop: never coverage check', () => {
  it('passes when every feature is at every zoom', () => {
    const check = new CoverageCheck(table, options, null);
    for (const z of [5, 6]) for (const i of [0, 1, 2]) check.add(tile([i], z));
    expect(() => check.verify('pbf.geojson', (i) => `BSM=B${i}`)).not.toThrow();
  });

  it('fails naming the file, the feature and the zoom when one is missing', () => {
    const check = new CoverageCheck(table, options, null);
    for (const i of [0, 1, 2]) check.add(tile([i], 5));
    check.add(tile([0], 6));
    check.add(tile([2], 6));
    expect(() => check.verify('pbf.geojson', (i) => `BSM=B${i}`)).toThrow(PipelineError);
    expect(() => check.verify('pbf.geojson', (i) => `BSM=B${i}`)).toThrow('pbf.geojson: feature BSM=B1: is missing from zoom 6');
  });

  it('in an incremental republish, trusts tiles carried over and checks the ones cut again', () => {
    const owner = ownerOf(1, 6);
    const carried = new CoverageCheck(table, options, new Set([tileNumber(6, owner.x + 5, owner.y)]));
    expect(() => carried.verify('pbf.geojson', (i) => `#${i}`)).not.toThrow();
    const recut = new CoverageCheck(table, options, new Set([tileNumber(6, owner.x, owner.y)]));
    expect(() => recut.verify('pbf.geojson', (i) => `#${i}`)).toThrow('feature #1: is missing from zoom 6');
  });
});

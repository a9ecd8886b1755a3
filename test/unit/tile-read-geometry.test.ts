import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { describe, expect, it } from 'vitest';
import { encodePlain, encodeTile } from '../../pipeline/tile/encode-tile.js';
import { readTileGeometry } from '../../pipeline/tile/read-tile-geometry.js';

// Features as tiling hands them to the encoder: integer tile coordinates, polygon rings closed.
const features: GeoJSONVTFeature[] = [
  { id: 11, type: 1, tags: { BSM: 'a' }, geometry: [[10, 20], [30, -5]] },
  { id: 12, type: 2, tags: { BSM: 'b' }, geometry: [[[0, 0], [100, 50], [4200, 4100]], [[7, 7], [8, 9]]] },
  {
    id: 2 ** 40 + 3, type: 3, tags: { BSM: 'c', TBMJ: 12.5 },
    geometry: [
      [[0, 0], [0, 100], [100, 100], [100, 0], [0, 0]],
      [[10, 10], [90, 10], [90, 90], [10, 90], [10, 10]],
      [[-60, 200], [-60, 300], [40, 300], [-60, 200]],
    ],
  },
];

describe('reading a tile back into features', () => {
  it('gives each feature by id the geometry it was encoded from, which encodes to the same bytes', () => {
    const tile = encodeTile('parcels', features);
    const read = readTileGeometry(tile.gz, 'parcels');
    expect([...read.keys()]).toEqual([11, 12, 2 ** 40 + 3]);
    for (const f of features) expect(read.get(f.id as number)?.geometry).toEqual(f.geometry);
    const again = [...read.values()].map((f, k) => ({ ...f, tags: features[k]?.tags ?? null }));
    expect(Buffer.from(encodePlain('parcels', again))).toEqual(Buffer.from(tile.plain));
  });

  it('reads only the named layer', () => {
    expect(readTileGeometry(encodeTile('parcels', features).gz, 'other').size).toBe(0);
  });
});

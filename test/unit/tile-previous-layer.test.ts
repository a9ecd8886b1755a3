import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { PbfWriter } from 'pbf';
import { describe, expect, it } from 'vitest';
import { encodePlain, encodeTile } from '../../pipeline/tile/encode-tile.js';
import { LentFeature, PreviousLayer } from '../../pipeline/tile/previous-layer.js';

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
    const layer = PreviousLayer.fromGzip(tile.gz, 'parcels');
    expect(layer.idList()).toEqual([11, 12, 2 ** 40 + 3]);
    const read = layer.idList().map((id, ref) => new LentFeature(layer, ref, id));
    read.forEach((f, k) => expect(f.geometry).toEqual(features[k]?.geometry));
    const again = read.map((f, k) => ({ id: f.id, type: f.type, geometry: f.geometry, tags: features[k]?.tags ?? null }) as GeoJSONVTFeature);
    expect(Buffer.from(encodePlain('parcels', again))).toEqual(Buffer.from(tile.plain));
  });

  it('counts a lent feature\'s positions from its commands as from its decoded rings', () => {
    const layer = PreviousLayer.fromGzip(encodeTile('parcels', features).gz, 'parcels');
    for (let ref = 0; ref < layer.count; ref++) {
      const decoded = new LentFeature(layer, ref, layer.ids[ref] as number);
      const rings = decoded.geometry as unknown[];
      const counted = rings.reduce<number>((n, part) => n + (Array.isArray((part as unknown[])[0]) ? (part as unknown[]).length : 1), 0);
      expect(new LentFeature(layer, ref, layer.ids[ref] as number).positions()).toBe(counted);
      expect(decoded.positions()).toBe(counted);
    }
  });

  it('reads only the named layer', () => {
    expect(PreviousLayer.fromGzip(encodeTile('parcels', features).gz, 'other').count).toBe(0);
  });

  it('reads features that come before the layer name, in layer order, and many (its columns grow)', () => {
    // vt-pbf writes the name first; the MVT spec allows any order.
    const ids = Array.from({ length: 150 }, (_, k) => 1000 + k);
    const pbf = new PbfWriter();
    pbf.writeMessage(3, (_: unknown, layer: PbfWriter) => {
      ids.forEach((id, k) => {
        if (k === 3) layer.writeStringField(1, 'parcels');
        layer.writeMessage(2, (__: unknown, f: PbfWriter) => {
          f.writeVarintField(1, id);
          f.writeVarintField(3, 1);
          f.writePackedVarint(4, [9, 2 * k, 2]);
        }, null);
      });
      layer.writeVarintField(5, 4096);
      layer.writeVarintField(15, 2);
    }, null);
    const layer = new PreviousLayer(pbf.finish(), 'parcels');
    expect(layer.idList()).toEqual(ids);
    expect(new LentFeature(layer, 4, 4).geometry).toEqual([[4, 1]]);
  });
});

import type { Feature, Geometry } from 'geojson';
import { describe, expect, it } from 'vitest';
import { packFeatures, propertiesOf, toGeojson } from '../../pipeline/tile/feature-table.js';

type F = Feature<Geometry, Record<string, string | number | boolean>>;

const features: F[] = [
  { type: 'Feature', id: 7, properties: { BSM: 'a', TBMJ: 12.5 }, geometry: { type: 'Polygon', coordinates: [[[116, 36], [116.01, 36], [116.01, 36.01], [116, 36]], [[116.002, 36.002], [116.004, 36.002], [116.004, 36.004], [116.002, 36.002]]] } },
  { type: 'Feature', id: 8, properties: { BSM: 'b', 名称: '河道' }, geometry: { type: 'MultiLineString', coordinates: [[[116, 36], [116.1, 36.1]], [[116.2, 36.2], [116.3, 36.2], [116.3, 36.3]]] } },
  { type: 'Feature', id: 9, properties: { BSM: 'c', ok: true }, geometry: { type: 'MultiPolygon', coordinates: [[[[115, 35], [115.1, 35], [115.1, 35.1], [115, 35]]], [[[117, 37], [117.1, 37], [117.1, 37.1], [117, 37]]]] } },
  { type: 'Feature', id: 10, properties: {}, geometry: { type: 'Point', coordinates: [116.5, 36.5] } },
];

const hashOf = (list: F[], i: number): string => {
  const t = packFeatures(list);
  return `${t.hashes[2 * i]}:${t.hashes[2 * i + 1]}`;
};

describe('the packed feature table', () => {
  it('gives every feature back as it went in: geometry, MVT id, properties', () => {
    const table = packFeatures(features);
    expect(table.count).toBe(4);
    features.forEach((f, i) => {
      expect(toGeojson(table, i).geometry).toEqual(f.geometry);
      expect(table.ids[i]).toBe(f.id);
      expect(propertiesOf(table, i)).toEqual(f.properties);
    });
    expect(table.coords.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('measures polygons by their exteriors, lines by length, and never lets a point vanish', () => {
    const table = packFeatures(features);
    expect(table.size[0]).toBeGreaterThan(0);
    // Two parts of nearly equal area: the size counts both, the keep size the larger.
    expect(table.size[2]).toBeGreaterThan((table.keepSize[2] as number) * 1.9);
    expect(table.size[2]).toBeLessThan((table.keepSize[2] as number) * 2);
    expect(table.keepSize[3]).toBe(Infinity);
    const [minX, minY, maxX, maxY] = table.bbox.subarray(4, 8);
    expect(minX).toBeCloseTo((116 + 180) / 360, 12);
    expect(maxX).toBeCloseTo((116.3 + 180) / 360, 12);
    expect(minY as number).toBeLessThan(maxY as number);
  });

  it('fingerprints each feature: equal for equal features, different after any change', () => {
    const base = hashOf(features, 0);
    expect(hashOf(structuredClone(features), 0)).toBe(base);
    const nudged = structuredClone(features);
    const ring = (nudged[0]?.geometry as { coordinates: number[][][] }).coordinates[0] as number[][];
    (ring[1] as number[])[0] = 116.01 + 1e-12;
    expect(hashOf(nudged, 0)).not.toBe(base);
    const renamed = structuredClone(features);
    (renamed[0] as F).properties.TBMJ = 12.6;
    expect(hashOf(renamed, 0)).not.toBe(base);
    const reid = structuredClone(features);
    (reid[0] as F).id = 70;
    expect(hashOf(reid, 0)).not.toBe(base);
    // Splitting a ring's positions differently is another geometry.
    const split = structuredClone(features);
    const rings = (split[1]?.geometry as { coordinates: number[][][] }).coordinates;
    rings[1]?.unshift(...(rings[0]?.splice(1, 1) ?? []));
    expect(hashOf(split, 1)).not.toBe(hashOf(features, 1));
  });
});

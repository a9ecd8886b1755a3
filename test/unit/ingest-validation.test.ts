import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Feature, FeatureCollection, Geometry, Polygon, Position } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSelfIntersection } from '../../pipeline/ingest/find-self-intersection.js';
import { ingestLayer, type IngestOptions } from '../../pipeline/ingest/ingest-layer.js';
import { checkSourceGeometry } from '../../pipeline/ingest/validate-feature.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { hasOgr2ogr } from '../fixtures/ingest/sources.js';

const poly = (ring: number[][], ...holes: number[][][]): Polygon => ({ type: 'Polygon', coordinates: [ring, ...holes] });

describe('geometry checks', () => {
  it('names what cannot be tiled', () => {
    const cases: [unknown, string, RegExp][] = [
      [null, 'no-geometry', /has no geometry/],
      [{ type: 'Circle', coordinates: [1, 2] }, 'unknown-geometry', /unknown geometry type "Circle"/],
      [{ type: 'GeometryCollection', geometries: [] }, 'unknown-geometry', /GeometryCollection/],
      [{ type: 'Polygon' }, 'malformed-geometry', /Polygon has no coordinates array/],
      [{ type: 'Polygon', coordinates: [[1, 2]] }, 'malformed-geometry', /not nested as a Polygon needs/],
      [{ type: 'Polygon', coordinates: [] }, 'empty-geometry', /polygon has no rings/],
      [{ type: 'Point', coordinates: [] }, 'empty-geometry', /empty Point/],
      [{ type: 'MultiPolygon', coordinates: [] }, 'empty-geometry', /empty MultiPolygon/],
      [{ type: 'LineString', coordinates: [[1, 2]] }, 'too-few-points', /line has 1 point\(s\), needs at least 2/],
      [poly([[0, 0], [1, 0], [0, 0]]), 'too-few-points', /exterior ring has 3 point\(s\)/],
      [poly([[0, 0], [1, 0], [1, 1], [0, 1]]), 'unclosed-ring', /exterior ring is not closed/],
      [poly([[0, 0], [1, 0], [1, 1], [0, 0]], [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]), 'too-few-points', /ring 2 has 3 point\(s\)/],
      [poly([[0, 0], [null as unknown as number, 0], [1, 1], [0, 0]]), 'non-finite', /exterior ring: point 2 is not a pair of finite numbers/],
      [{ type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 1]]]] }, 'unclosed-ring', /part 2: exterior ring is not closed/],
    ];
    for (const [g, code, message] of cases) {
      const found = checkSourceGeometry(g, 1000);
      expect(found?.code, JSON.stringify(g)).toBe(code);
      expect(found?.message).toMatch(message);
    }
    const big = poly(Array.from({ length: 1001 }, (_, i) => [Math.cos(i), Math.sin(i)]).concat([[1, 0]]));
    expect(checkSourceGeometry(big, 1000)?.message).toBe('has 1002 vertices, over the limit of 1000 per feature (maxVertices)');
    expect(checkSourceGeometry(poly([[0, 0], [1, 0], [1, 1], [0, 0]]), 1000)).toBeNull();
  });

  it('finds self-intersections: a bow-tie, a hole crossing its shell, overlapping edges; not a vertex touch', () => {
    expect(findSelfIntersection(poly([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]))?.message).toBe('exterior ring crosses itself near (1.0000000, 1.0000000)');
    expect(findSelfIntersection(poly([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[3, 1], [5, 1], [5, 2], [3, 2], [3, 1]]))?.message).toMatch(/^ring 2 crosses the exterior ring near \(4\.0000000, [12]\.0000000\)/);
    // An edge running back along another (collinear overlap).
    expect(findSelfIntersection(poly([[0, 0], [4, 0], [4, -2], [2, -2], [2, 0], [3, 0], [3, 2], [0, 2], [0, 0]]))?.message).toBe('exterior ring crosses itself near (2.0000000, 0.0000000)');
    // A hole touching the shell at one vertex is valid (OGC), and so is a plain square.
    expect(findSelfIntersection(poly([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[0, 0], [1, 2], [2, 1], [0, 0]]))).toBeNull();
    expect(findSelfIntersection(poly([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]))).toBeNull();
    // Many vertices (the sweep path): a fine circle, then the same with two vertices swapped.
    const circle = Array.from({ length: 500 }, (_, i) => [Math.cos((2 * Math.PI * i) / 500), Math.sin((2 * Math.PI * i) / 500)]);
    expect(findSelfIntersection(poly([...circle, circle[0] as number[]]))).toBeNull();
    const twisted = [...circle];
    [twisted[100], twisted[101]] = [twisted[101] as number[], twisted[100] as number[]];
    expect(findSelfIntersection(poly([...twisted, twisted[0] as number[]]))?.code).toBe('self-intersection');
    expect(findSelfIntersection({ type: 'LineString', coordinates: [[0, 0], [2, 2], [2, 0], [0, 2]] })).toBeNull();
  });

  it.skipIf(!hasOgr2ogr)('agrees with GEOS (GDAL) on which random polygons cross themselves', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const features: Feature<Polygon>[] = Array.from({ length: 300 }, (_, i) => {
      const n = 4 + Math.floor(rnd() * 6);
      // Random points around a centre, sorted by angle unless "scrambled": scrambled rings mostly cross.
      const pts = Array.from({ length: n }, () => [rnd() * 10, rnd() * 10] as Position);
      if (i % 2 === 0) pts.sort((a, b) => Math.atan2((a[1] as number) - 5, (a[0] as number) - 5) - Math.atan2((b[1] as number) - 5, (b[0] as number) - 5));
      return { type: 'Feature', properties: { i }, geometry: poly([...pts, pts[0] as Position]) };
    });
    const dir = makeTempDir('plantiles-geos-');
    try {
      const file = path.join(dir, 'random.geojson');
      writeGeojson(file, { type: 'FeatureCollection', features });
      const r = spawnSync('ogrinfo', ['-q', '-dialect', 'sqlite', '-sql', 'SELECT i FROM random WHERE ST_IsValid(geometry) = 0', file], { encoding: 'utf8' });
      const geos = new Set([...r.stdout.matchAll(/i \(Integer\) = (\d+)/g)].map((m) => Number(m[1])));
      const ours = new Set(features.filter((f) => findSelfIntersection(f.geometry as Geometry)).map((f) => f.properties?.i as number));
      expect(geos.size).toBeGreaterThan(50);
      expect([...ours].sort((a, b) => a - b)).toEqual([...geos].sort((a, b) => a - b));
    } finally {
      removeDir(dir);
    }
  });
});

describe('onInvalid policies and the validation summary', () => {
  let dir: string;
  let source: string;
  beforeAll(() => {
    dir = makeTempDir('plantiles-valid-');
    source = path.join(dir, 'parcels.geojson');
    const fc = makeParcels(3, 2) as FeatureCollection;
    const f = (i: number): Feature => fc.features[i] as Feature;
    (f(1).geometry as Polygon).coordinates[0] = [[116, 36.44], [116.008, 36.448], [116.008, 36.44], [116, 36.448], [116, 36.44]];
    ((f(2).geometry as Polygon).coordinates[0] as unknown[])[1] = [null, 36.43];
    (f(3).properties as Record<string, unknown>).BSM = '371502000000000001';
    delete (f(4).properties as Record<string, unknown>).BSM;
    f(5).geometry = { type: 'Point', coordinates: [116.0, 36.44] };
    writeGeojson(source, fc);
  });
  afterAll(() => removeDir(dir));

  const ingest = (extra: Partial<IngestOptions>): ReturnType<typeof ingestLayer> => ingestLayer({ source, idField: 'BSM', ...extra });

  it('by default warns about topology and rejects the first feature that cannot be tiled', async () => {
    await expect(ingest({})).rejects.toThrow('parcels.geojson: feature BSM=371502000000000003: exterior ring: point 2 is not a pair of finite numbers');
  });

  it('skip leaves every problem feature out and lists each by id', async () => {
    const layer = await ingest({ onInvalid: 'skip' });
    expect(layer.features.map((x) => x.properties.BSM)).toEqual(['371502000000000001']);
    expect(layer.validation).toMatchObject({
      read: 6, skipped: 5, warned: 0,
      counts: { 'self-intersection': 1, 'non-finite': 1, 'duplicate-id': 1, 'missing-id': 1, 'mixed-type': 1 },
    });
    expect(layer.validation.examples.map((e) => [e.feature, e.code, e.action])).toEqual([
      ['BSM=371502000000000002', 'self-intersection', 'skipped'],
      ['BSM=371502000000000003', 'non-finite', 'skipped'],
      ['BSM=371502000000000001', 'duplicate-id', 'skipped'],
      ['#4', 'missing-id', 'skipped'],
      ['BSM=371502000000000006', 'mixed-type', 'skipped'],
    ]);
    expect(layer.validation.examples[2]?.problem).toBe('duplicate id: BSM=371502000000000001 was already used by feature #0');
  });

  it('warn keeps what can be kept (crossing rings; features without a usable id, kept without one) and leaves out the rest', async () => {
    const layer = await ingest({ onInvalid: 'warn' });
    expect(layer.features.map((x) => [x.properties.BSM ?? null, x.id ?? null])).toEqual([
      ['371502000000000001', featureIdFor('371502000000000001')],
      ['371502000000000002', featureIdFor('371502000000000002')],
      ['371502000000000001', null],
      [null, null],
    ]);
    expect(layer.validation).toMatchObject({ read: 6, skipped: 2, warned: 3 });
  });

  it('per class: topology reject fails on the crossing ring; identity warn keeps the rest', async () => {
    await expect(ingest({ onInvalid: { topology: 'reject' } })).rejects.toThrow(/feature BSM=371502000000000002: exterior ring crosses itself near \(116\.0040000, 36\.4440000\)/);
    const layer = await ingest({ onInvalid: { geometry: 'skip', mixed: 'skip', identity: 'warn' } });
    expect(layer.features).toHaveLength(4);
    expect(layer.validation.counts).toEqual({ 'self-intersection': 1, 'non-finite': 1, 'duplicate-id': 1, 'missing-id': 1, 'mixed-type': 1 });
  });

  it('oversized attributes: rejected by default, dropped from a kept feature with warn', async () => {
    const file = path.join(dir, 'long.geojson');
    const fc = makeParcels(2, 1);
    (fc.features[1]?.properties as Record<string, unknown>).BZ = 'x'.repeat(70_000);
    writeGeojson(file, fc);
    await expect(ingestLayer({ source: file, idField: 'BSM' })).rejects.toThrow('long.geojson: feature BSM=371502000000000002: attribute BZ is 70000 characters long, over the limit of 65535');
    const layer = await ingestLayer({ source: file, idField: 'BSM', onInvalid: { attributes: 'warn' } });
    expect(layer.features[1]?.properties.BZ).toBeUndefined();
    expect(layer.features[1]?.properties.DLMC).toBe('水浇地');
  });

  it('refuses a layer whose features were all skipped, and one with none', async () => {
    const file = path.join(dir, 'points.geojson');
    writeGeojson(file, { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [500000, 4000000] } }] });
    await expect(ingestLayer({ source: file, onInvalid: 'skip' })).rejects.toThrow('points.geojson: no features left: all 1 were skipped (1 skipped, 0 kept with warnings (out-of-area 1))');
    writeGeojson(file, { type: 'FeatureCollection', features: [] });
    await expect(ingestLayer({ source: file })).rejects.toThrow('points.geojson: the source has no features');
  });
});

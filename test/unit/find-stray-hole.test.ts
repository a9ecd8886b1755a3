import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Feature, Geometry, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { findSelfIntersection } from '../../pipeline/ingest/find-self-intersection.js';
import { findStrayHole } from '../../pipeline/ingest/find-stray-hole.js';
import { writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { hasOgr2ogr } from '../fixtures/ingest/sources.js';

/** A closed axis-aligned square ring. */
const square = (x: number, y: number, size: number): Position[] => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];
const poly = (...rings: Position[][]): Polygon => ({ type: 'Polygon', coordinates: rings });
const shell = square(0, 0, 10);

describe('holes out of place', () => {
  it('finds a hole outside its exterior ring, naming the ring and a vertex', () => {
    const found = findStrayHole(poly(shell, square(1, 1, 1), square(12, 3, 1)));
    expect(found).toEqual({ code: 'hole-outside-shell', message: 'ring 3 (a hole) lies outside the exterior ring near (12.0000000, 3.0000000)' });
  });

  it('finds a hole inside another hole', () => {
    const found = findStrayHole(poly(shell, square(2, 2, 4), square(3, 3, 1)));
    expect(found).toEqual({ code: 'nested-holes', message: 'ring 3 (a hole) lies inside ring 2, another hole, near (3.0000000, 3.0000000)' });
  });

  it('accepts holes inside the shell, side by side, or touching the shell or each other at a vertex', () => {
    expect(findStrayHole(poly(shell, square(1, 1, 2), square(5, 5, 2)))).toBeNull();
    expect(findStrayHole(poly(shell, [[0, 0], [2, 1], [1, 2], [0, 0]]))).toBeNull();
    expect(findStrayHole(poly(shell, square(1, 1, 2), square(3, 3, 2)))).toBeNull();
    expect(findStrayHole(poly(shell))).toBeNull();
    expect(findStrayHole({ type: 'LineString', coordinates: [[0, 0], [1, 1]] })).toBeNull();
  });

  it('names the part of a multipolygon', () => {
    const g: Geometry = { type: 'MultiPolygon', coordinates: [[square(20, 0, 5)], [shell, square(-3, 4, 1)]] };
    expect(findStrayHole(g)?.message).toBe('part 2: ring 2 (a hole) lies outside the exterior ring near (-3.0000000, 4.0000000)');
  });

  it.skipIf(!hasOgr2ogr)('agrees with GEOS (GDAL) on which random polygons with holes are valid', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Holes are squares in distinct cells of a grid, so no two rings cross: each lies in a
    // cell of the shell, in a cell beyond it, or is a pair of nested squares in one cell.
    const features: Feature<Polygon>[] = Array.from({ length: 300 }, (_, i) => {
      const rings = [shell];
      const cells = new Set<number>();
      for (let h = Math.floor(rnd() * 4); h > 0; h--) {
        const cell = Math.floor(rnd() * 12 * 10);
        if (cells.has(cell)) continue;
        cells.add(cell);
        const x = cell % 12;
        const y = Math.floor(cell / 12);
        const kind = rnd();
        if (kind < 0.15) rings.push(square(x + 0.1, y + 0.1, 0.8), square(x + 0.3, y + 0.3, 0.4));
        else rings.push(square(x + 0.2, y + 0.2, 0.6));
      }
      return { type: 'Feature', properties: { i }, geometry: poly(...rings) };
    });
    const dir = makeTempDir('plantiles-holes-');
    try {
      const file = path.join(dir, 'holes.geojson');
      writeGeojson(file, { type: 'FeatureCollection', features });
      const r = spawnSync('ogrinfo', ['-q', '-dialect', 'sqlite', '-sql', 'SELECT i FROM holes WHERE ST_IsValid(geometry) = 0', file], { encoding: 'utf8' });
      const geos = new Set([...r.stdout.matchAll(/i \(Integer\) = (\d+)/g)].map((m) => Number(m[1])));
      const ours = new Set(features.filter((f) => findSelfIntersection(f.geometry) ?? findStrayHole(f.geometry)).map((f) => f.properties?.i as number));
      expect(geos.size).toBeGreaterThan(30);
      expect(geos.size).toBeLessThan(270);
      expect([...ours].sort((a, b) => a - b)).toEqual([...geos].sort((a, b) => a - b));
    } finally {
      removeDir(dir);
    }
  });
});

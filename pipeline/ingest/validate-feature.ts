import type { Geometry, Position } from 'geojson';
import type { GeometryKind } from '../../src/domain/catalog.js';

/** Checks a reprojected (WGS 84) geometry; returns the problem, or null when it can be tiled. */
export function findGeometryProblem(g: Geometry | null): string | null {
  if (!g) return 'has no geometry';
  switch (g.type) {
    case 'Point': return checkPositions([g.coordinates]);
    case 'MultiPoint': return g.coordinates.length ? checkPositions(g.coordinates) : 'is an empty MultiPoint';
    case 'LineString': return checkLine(g.coordinates);
    case 'MultiLineString': return firstProblem(g.coordinates, checkLine, 'is an empty MultiLineString');
    case 'Polygon': return checkPolygon(g.coordinates);
    case 'MultiPolygon': return firstProblem(g.coordinates, checkPolygon, 'is an empty MultiPolygon');
    case 'GeometryCollection': return 'is a GeometryCollection, which cannot be tiled';
    default: return `has an unknown geometry type "${String((g as { type: unknown }).type)}"`;
  }
}

/** The layer-level kind of a geometry. */
export function geometryKindOf(g: Geometry): GeometryKind {
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') return 'polygon';
  if (g.type === 'LineString' || g.type === 'MultiLineString') return 'line';
  return 'point';
}

function firstProblem<T>(parts: T[], check: (part: T) => string | null, empty: string): string | null {
  if (!parts.length) return empty;
  for (let i = 0; i < parts.length; i++) {
    const problem = check(parts[i] as T);
    if (problem) return parts.length > 1 ? `part ${i + 1}: ${problem}` : problem;
  }
  return null;
}

function checkLine(line: Position[]): string | null {
  if (line.length < 2) return `line has ${line.length} point(s), needs at least 2`;
  return checkPositions(line);
}

function checkPolygon(rings: Position[][]): string | null {
  if (!rings.length) return 'polygon has no rings';
  for (let i = 0; i < rings.length; i++) {
    const ring = rings[i] as Position[];
    const which = i === 0 ? 'exterior ring' : `ring ${i + 1}`;
    if (ring.length < 4) return `${which} has ${ring.length} point(s), needs at least 4`;
    const problem = checkPositions(ring);
    if (problem) return `${which}: ${problem}`;
    const first = ring[0] as Position;
    const last = ring[ring.length - 1] as Position;
    if (first[0] !== last[0] || first[1] !== last[1]) return `${which} is not closed (first and last points differ)`;
  }
  return null;
}

function checkPositions(points: Position[]): string | null {
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Position;
    const lon = p[0];
    const lat = p[1];
    if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
      return `point ${i + 1} is not a pair of finite numbers`;
    }
    if (lon < -180 || lon > 180 || lat < -85.06 || lat > 85.06) {
      return `point ${i + 1} (${lon.toFixed(6)}, ${lat.toFixed(6)}) lies outside the world after reprojection: wrong CRS or swapped axes?`;
    }
  }
  return null;
}

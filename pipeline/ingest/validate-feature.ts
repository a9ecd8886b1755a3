import type { Geometry, Position } from 'geojson';
import type { GeometryKind } from '../../src/domain/catalog.js';
import { WORLD_AREA, type Area } from './crs-registry.js';
import type { Problem, ProblemCode } from './validation-policy.js';

const KNOWN_TYPES = new Set(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon']);

/**
 * Checks a geometry as read from the source (any CRS, untrusted structure): a known
 * type, well-formed and non-empty coordinates, finite numbers, enough points, closed
 * rings, at most `maxVertices` positions. Null when it can be reprojected and tiled.
 */
export function checkSourceGeometry(g: unknown, maxVertices: number): Problem | null {
  if (g === null || g === undefined) return problem('no-geometry', 'has no geometry');
  if (typeof g !== 'object' || typeof (g as { type?: unknown }).type !== 'string') return problem('malformed-geometry', 'geometry has no type');
  const type = (g as { type: string }).type;
  if (type === 'GeometryCollection') return problem('unknown-geometry', 'is a GeometryCollection, which cannot be tiled (one geometry type per feature)');
  if (!KNOWN_TYPES.has(type)) return problem('unknown-geometry', `has an unknown geometry type "${type.slice(0, 40)}"`);
  const coords = (g as { coordinates?: unknown }).coordinates;
  if (!Array.isArray(coords)) return problem('malformed-geometry', `${type} has no coordinates array`);
  const vertices = countPositions(coords, depthOf(type));
  if (vertices < 0) return problem('malformed-geometry', `${type} coordinates are not nested as a ${type} needs`);
  if (vertices > maxVertices) {
    return problem('too-many-vertices', `has ${vertices} vertices, over the limit of ${maxVertices} per feature (maxVertices)`);
  }
  switch (type) {
    case 'Point': return coords.length ? checkPosition(coords, 'point') : problem('empty-geometry', 'is an empty Point');
    case 'MultiPoint': return coords.length ? checkPositions(coords as unknown[][]) : problem('empty-geometry', 'is an empty MultiPoint');
    case 'LineString': return checkLine(coords);
    case 'MultiLineString': return eachPart(coords, type, checkLine);
    case 'Polygon': return checkPolygon(coords);
    default: return eachPart(coords, type, checkPolygon);
  }
}

/**
 * Checks reprojected (WGS 84) coordinates: each point must have survived the
 * transform and lie in the CRS's area (outside it, the CRS is wrong or the axes swapped).
 */
export function checkArea(g: Geometry, area: Area, crsLabel: string): Problem | null {
  let index = 0;
  const check = (points: Position[]): Problem | null => {
    for (const p of points) {
      index++;
      const lon = p[0] as number;
      const lat = p[1] as number;
      // The negated form also catches NaN.
      if (!(lon >= area[0] && lon <= area[2] && lat >= area[1] && lat <= area[3])) return outsideArea(lon, lat, index, area, crsLabel);
    }
    return null;
  };
  const each = (lists: Position[][]): Problem | null => {
    for (const list of lists) {
      const found = check(list);
      if (found) return found;
    }
    return null;
  };
  switch (g.type) {
    case 'Point': return check([g.coordinates]);
    case 'MultiPoint':
    case 'LineString': return check(g.coordinates);
    case 'MultiLineString':
    case 'Polygon': return each(g.coordinates);
    case 'MultiPolygon': return each(g.coordinates.flat());
    default: return null;
  }
}

/** The layer-level kind of a geometry. */
export function geometryKindOf(g: Geometry): GeometryKind {
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') return 'polygon';
  if (g.type === 'LineString' || g.type === 'MultiLineString') return 'line';
  return 'point';
}

function outsideArea(lon: number, lat: number, index: number, area: Area, crsLabel: string): Problem {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return problem('non-finite', `point ${index} cannot be reprojected from ${crsLabel}: wrong CRS?`);
  const where = `point ${index} (${lon.toFixed(6)}, ${lat.toFixed(6)})`;
  if (area === WORLD_AREA) return problem('out-of-area', `${where} lies outside the world after reprojection from ${crsLabel}: wrong CRS or swapped axes?`);
  const box = `lon ${area[0]}..${area[2]}, lat ${area[1]}..${area[3]}`;
  return problem('out-of-area', `${where} lies outside the area of ${crsLabel} (${box}): wrong CRS or swapped axes?`);
}

function problem(code: ProblemCode, message: string): Problem {
  return { code, message };
}

/** Nesting depth of a type's coordinates: 0 for a position. */
function depthOf(type: string): number {
  if (type === 'Point') return 0;
  if (type === 'MultiPoint' || type === 'LineString') return 1;
  if (type === 'MultiLineString' || type === 'Polygon') return 2;
  return 3;
}

/** Number of positions, or -1 when the nesting is wrong. */
function countPositions(c: unknown[], depth: number): number {
  if (depth === 0) return c.length === 0 ? 0 : 1;
  let total = 0;
  for (const child of c) {
    if (!Array.isArray(child)) return -1;
    const n = countPositions(child, depth - 1);
    if (n < 0) return -1;
    total += n;
  }
  return total;
}

function eachPart(parts: unknown[], type: string, check: (part: unknown[], i: number) => Problem | null): Problem | null {
  if (!parts.length) return problem('empty-geometry', `is an empty ${type}`);
  for (let i = 0; i < parts.length; i++) {
    const found = check(parts[i] as unknown[], i);
    if (found) return parts.length > 1 ? { ...found, message: `part ${i + 1}: ${found.message}` } : found;
  }
  return null;
}

function checkPosition(p: unknown[], label: string): Problem | null {
  if (p.length < 2) return problem('malformed-geometry', `${label} has ${p.length} coordinate(s), needs x and y`);
  const [x, y] = p;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    return problem('non-finite', `${label} is not a pair of finite numbers`);
  }
  return null;
}

function checkPositions(points: unknown[][]): Problem | null {
  for (let i = 0; i < points.length; i++) {
    const found = checkPosition(points[i] as unknown[], `point ${i + 1}`);
    if (found) return found;
  }
  return null;
}

function checkLine(line: unknown[]): Problem | null {
  if (line.length === 0) return problem('empty-geometry', 'line has no points');
  if (line.length < 2) return problem('too-few-points', `line has ${line.length} point(s), needs at least 2`);
  return checkPositions(line as unknown[][]);
}

function checkPolygon(rings: unknown[]): Problem | null {
  if (!rings.length) return problem('empty-geometry', 'polygon has no rings');
  for (let i = 0; i < rings.length; i++) {
    const ring = rings[i] as unknown[][];
    const which = i === 0 ? 'exterior ring' : `ring ${i + 1}`;
    if (ring.length < 4) return problem(ring.length ? 'too-few-points' : 'empty-geometry', `${which} has ${ring.length} point(s), needs at least 4`);
    const found = checkPositions(ring);
    if (found) return { ...found, message: `${which}: ${found.message}` };
    const first = ring[0] as number[];
    const last = ring[ring.length - 1] as number[];
    if (first[0] !== last[0] || first[1] !== last[1]) return problem('unclosed-ring', `${which} is not closed (first and last points differ)`);
  }
  return null;
}

// One .shp record's content → a GeoJSON geometry (Z and M dropped), per the
// ESRI Shapefile Technical Description (1998).
import type { Geometry, Position } from 'geojson';

/** A record whose bytes do not hold the shape its header claims. */
export class ShpRecordError extends Error {
  override readonly name = 'ShpRecordError';
}

/** The 2D family of each shape type code. */
const FAMILY: Record<number, 'null' | 'point' | 'multipoint' | 'polyline' | 'polygon' | 'multipatch'> = {
  0: 'null', 1: 'point', 11: 'point', 21: 'point', 8: 'multipoint', 18: 'multipoint', 28: 'multipoint',
  3: 'polyline', 13: 'polyline', 23: 'polyline', 5: 'polygon', 15: 'polygon', 25: 'polygon', 31: 'multipatch',
};

/** A value for the source feature's geometry: a geometry, null, or an unknown type for the validator to name. */
export type ShpGeometry = Geometry | null | { type: string; coordinates: never[] };

/** Decodes a record's content (after the 8-byte record header). */
export function parseShpRecord(content: Buffer): ShpGeometry {
  if (content.length < 4) throw new ShpRecordError(`record is ${content.length} bytes, too short for a shape type`);
  const code = content.readInt32LE(0);
  switch (FAMILY[code]) {
    case 'null': return null;
    case 'point': {
      need(content, 20, 'a point');
      return { type: 'Point', coordinates: [content.readDoubleLE(4), content.readDoubleLE(12)] };
    }
    case 'multipoint': {
      need(content, 40, 'a multipoint header');
      const count = content.readInt32LE(36);
      need(content, 40 + 16 * count, `${count} points`, count);
      return { type: 'MultiPoint', coordinates: readPoints(content, 40, count) };
    }
    case 'polyline': return readPolyline(content);
    case 'polygon': return assemblePolygons(readParts(content));
    case 'multipatch': return { type: 'MultiPatch', coordinates: [] };
    default: throw new ShpRecordError(`record has an unknown shape type ${code}`);
  }
}

function need(content: Buffer, bytes: number, what: string, count = 0): void {
  if (count < 0 || !Number.isFinite(bytes)) throw new ShpRecordError(`record is damaged: negative count for ${what}`);
  if (content.length < bytes) throw new ShpRecordError(`record is damaged: ${what} need ${bytes} bytes, the record has ${content.length}`);
}

function readPoints(content: Buffer, at: number, count: number): Position[] {
  const points: Position[] = new Array<Position>(count);
  for (let i = 0; i < count; i++) points[i] = [content.readDoubleLE(at + 16 * i), content.readDoubleLE(at + 16 * i + 8)];
  return points;
}

function readParts(content: Buffer): Position[][] {
  need(content, 44, 'a multi-part header');
  const parts = content.readInt32LE(36);
  const points = content.readInt32LE(40);
  if (parts < 0 || points < 0) throw new ShpRecordError(`record is damaged: ${parts} parts, ${points} points`);
  need(content, 44 + 4 * parts + 16 * points, `${parts} parts and ${points} points`);
  const starts: number[] = [];
  for (let i = 0; i < parts; i++) starts.push(content.readInt32LE(44 + 4 * i));
  const base = 44 + 4 * parts;
  const all = readPoints(content, base, points);
  return starts.map((start, i) => {
    const end = i + 1 < starts.length ? (starts[i + 1] as number) : points;
    if (start < 0 || end > points || start > end) throw new ShpRecordError(`record is damaged: part ${i + 1} starts at point ${start} of ${points}`);
    return all.slice(start, end);
  });
}

function readPolyline(content: Buffer): Geometry {
  const parts = readParts(content);
  if (parts.length === 1) return { type: 'LineString', coordinates: parts[0] as Position[] };
  return { type: 'MultiLineString', coordinates: parts };
}

/** Twice the signed area: positive counter-clockwise, negative clockwise (y up). */
function signedArea2(ring: Position[]): number {
  let sum = 0;
  for (let i = 0, n = ring.length; i + 1 < n; i++) {
    const a = ring[i] as Position;
    const b = ring[i + 1] as Position;
    sum += (a[0] as number) * (b[1] as number) - (b[0] as number) * (a[1] as number);
  }
  return sum;
}

function contains(ring: Position[], p: Position): boolean {
  const [x, y] = p as [number, number];
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as [number, number];
    const [xj, yj] = ring[j] as [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Groups rings into polygons: clockwise rings are outer rings, counter-clockwise
 * ones holes of the smallest outer ring holding them (ESRI's rule). A hole with no
 * outer ring around it is kept as a polygon of its own rather than dropped.
 */
function assemblePolygons(rings: Position[][]): Geometry {
  if (rings.length === 0) return { type: 'Polygon', coordinates: [] };
  if (rings.length === 1) return { type: 'Polygon', coordinates: rings };
  const outers: { ring: Position[]; area: number; holes: Position[][] }[] = [];
  const holes: Position[][] = [];
  for (const ring of rings) {
    const area = signedArea2(ring);
    if (area <= 0 || ring.length < 4) outers.push({ ring, area: Math.abs(area), holes: [] });
    else holes.push(ring);
  }
  for (const hole of holes) {
    let best: (typeof outers)[number] | undefined;
    for (const outer of outers) {
      if ((!best || outer.area < best.area) && holds(outer.ring, hole)) best = outer;
    }
    if (best) best.holes.push(hole);
    else outers.push({ ring: hole, area: Math.abs(signedArea2(hole)), holes: [] });
  }
  const polygons = outers.map((o) => [o.ring, ...o.holes]);
  return polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] as Position[][] } : { type: 'MultiPolygon', coordinates: polygons };
}

/** Whether an outer ring holds a hole, judged by a hole vertex that is not also an outer vertex. */
function holds(outer: Position[], hole: Position[]): boolean {
  const probe = hole.find((p) => !outer.some((q) => q[0] === p[0] && q[1] === p[1])) ?? hole[0];
  return probe !== undefined && contains(outer, probe);
}

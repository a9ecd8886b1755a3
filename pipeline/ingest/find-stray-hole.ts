import type { Geometry, Position } from 'geojson';
import { checkEachPolygon } from './each-polygon.js';
import type { Problem } from './validation-policy.js';

/** A ring's bounding box: minX, minY, maxX, maxY. */
type Box = [number, number, number, number];

/**
 * Finds a polygon hole that does not lie where a hole must (OGC-invalid, a topology
 * problem): outside its exterior ring, or inside another hole. Meant for rings that do
 * not cross (findSelfIntersection finds those first): then one vertex of a hole that is
 * not on the other ring tells on which side of it the whole hole lies.
 */
export function findStrayHole(g: Geometry): Problem | null {
  return checkEachPolygon(g, checkPolygon);
}

function checkPolygon(rings: Position[][], prefix: string): Problem | null {
  if (rings.length < 2) return null; // most polygons have no hole
  const shell = rings[0] as Position[];
  const boxes = rings.map(boxOf);
  for (let h = 1; h < rings.length; h++) {
    const hole = rings[h] as Position[];
    const at = vertexOffRing(hole, shell);
    if (at && side(at, shell) < 0) {
      return { code: 'hole-outside-shell', message: `${prefix}ring ${h + 1} (a hole) lies outside the exterior ring near ${where(at)}` };
    }
  }
  // Holes inside holes: only pairs whose boxes nest are tested, so a polygon with
  // hundreds of holes (an ecological red line) costs little more than its rings' sizes.
  for (let h = 1; h < rings.length; h++) {
    const hole = rings[h] as Position[];
    for (let o = 1; o < rings.length; o++) {
      if (o === h || !contains(boxes[o] as Box, boxes[h] as Box)) continue;
      const other = rings[o] as Position[];
      const at = vertexOffRing(hole, other);
      if (at && side(at, other) > 0) {
        return { code: 'nested-holes', message: `${prefix}ring ${h + 1} (a hole) lies inside ring ${o + 1}, another hole, near ${where(at)}` };
      }
    }
  }
  return null;
}

function boxOf(ring: Position[]): Box {
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of ring) {
    const x = p[0] as number;
    const y = p[1] as number;
    if (x < box[0]) box[0] = x;
    if (y < box[1]) box[1] = y;
    if (x > box[2]) box[2] = x;
    if (y > box[3]) box[3] = y;
  }
  return box;
}

function contains(outer: Box, inner: Box): boolean {
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
}

/** The first vertex of `ring` that is not on `other` (null when every one is: the rings coincide). */
function vertexOffRing(ring: Position[], other: Position[]): Position | null {
  for (const p of ring) if (side(p, other) !== 0) return p;
  return null;
}

/**
 * Where a point lies against a closed ring: 1 inside, -1 outside, 0 on its boundary.
 * Crossing number with a half-open rule, so a ray through a vertex counts once.
 */
function side(p: Position, ring: Position[]): number {
  const px = p[0] as number;
  const py = p[1] as number;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i] as Position;
    const b = ring[j] as Position;
    const ax = a[0] as number, ay = a[1] as number, bx = b[0] as number, by = b[1] as number;
    if (onSegment(px, py, ax, ay, bx, by)) return 0;
    if ((ay > py) !== (by > py) && px < ax + ((py - ay) * (bx - ax)) / (by - ay)) inside = !inside;
  }
  return inside ? 1 : -1;
}

function onSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): boolean {
  if (px < Math.min(ax, bx) || px > Math.max(ax, bx) || py < Math.min(ay, by) || py > Math.max(ay, by)) return false;
  return (bx - ax) * (py - ay) - (by - ay) * (px - ax) === 0;
}

function where(p: Position): string {
  return `(${(p[0] as number).toFixed(7)}, ${(p[1] as number).toFixed(7)})`;
}

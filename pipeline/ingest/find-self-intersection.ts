import type { Geometry, Position } from 'geojson';
import { checkEachPolygon } from './each-polygon.js';
import type { Problem } from './validation-policy.js';

/** A polygon's segments in flat arrays (most polygons are small; objects per segment would dominate). */
interface Segments {
  n: number;
  /** ax, ay, bx, by per segment. */
  xy: Float64Array;
  /** minX, maxX, minY, maxY per segment: each pair test starts with them. */
  box: Float64Array;
  ring: Int32Array;
  index: Int32Array;
  /** Segments in the segment's ring (a closed ring of n points has n - 1). */
  ringSize: Int32Array;
}

function segmentsFor(capacity: number): Segments {
  return { n: 0, xy: new Float64Array(4 * capacity), box: new Float64Array(4 * capacity), ring: new Int32Array(capacity), index: new Int32Array(capacity), ringSize: new Int32Array(capacity) };
}

/**
 * The segments of the polygon being checked, reused from polygon to polygon (grown when
 * one needs more): the check is synchronous, and allocating them per polygon cost as
 * much as the tests on 200k small parcels.
 */
let scratch = segmentsFor(256);

/** Up to this many segments every pair is tested; beyond, a sweep over x-sorted segments. */
const BRUTE_FORCE_SEGMENTS = 64;
/** Beyond this many segment pairs the check gives up (no report) rather than stall a publish. */
const MAX_PAIR_TESTS = 50_000_000;

/**
 * Finds where a polygon's rings cross themselves or each other (OGC-invalid, a
 * topology problem): proper crossings and collinear overlaps of non-adjacent
 * segments. Touching at a vertex is allowed. Lines may cross themselves, so only
 * polygons are checked.
 */
export function findSelfIntersection(g: Geometry): Problem | null {
  return checkEachPolygon(g, checkPolygon);
}

function checkPolygon(rings: Position[][], prefix: string): Problem | null {
  const s = collectSegments(rings);
  const hit = s.n <= BRUTE_FORCE_SEGMENTS ? bruteForce(s) : sweep(s);
  if (!hit) return null;
  const [i, j, x, y] = hit;
  return { code: 'self-intersection', message: `${prefix}${describe(s, i, j)} near (${x.toFixed(7)}, ${y.toFixed(7)})` };
}

type Hit = [number, number, number, number];

function bruteForce(s: Segments): Hit | null {
  for (let i = 0; i < s.n; i++) {
    for (let j = i + 1; j < s.n; j++) {
      const at = test(s, i, j);
      if (at) return [i, j, at[0], at[1]];
    }
  }
  return null;
}

function sweep(s: Segments): Hit | null {
  const box = s.box;
  const order = Uint32Array.from({ length: s.n }, (_, k) => k).sort((a, b) => (box[4 * a] as number) - (box[4 * b] as number));
  let tests = 0;
  for (let a = 0; a < order.length; a++) {
    const i = order[a] as number;
    const right = box[4 * i + 1] as number;
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b] as number;
      if ((box[4 * j] as number) > right) break;
      if (++tests > MAX_PAIR_TESTS) return null;
      const at = test(s, i, j);
      if (at) return [i, j, at[0], at[1]];
    }
  }
  return null;
}

function collectSegments(rings: Position[][]): Segments {
  const total = rings.reduce((sum, r) => sum + Math.max(0, r.length - 1), 0);
  if (total > scratch.ring.length) scratch = segmentsFor(Math.max(total, 2 * scratch.ring.length));
  const s = scratch;
  s.n = 0;
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r] as Position[];
    for (let k = 0; k + 1 < ring.length; k++) {
      const a = ring[k] as Position;
      const b = ring[k + 1] as Position;
      const ax = a[0] as number, ay = a[1] as number, bx = b[0] as number, by = b[1] as number;
      if (ax === bx && ay === by) continue; // repeated points make no segment
      const n = s.n++;
      s.xy[4 * n] = ax;
      s.xy[4 * n + 1] = ay;
      s.xy[4 * n + 2] = bx;
      s.xy[4 * n + 3] = by;
      s.box[4 * n] = Math.min(ax, bx);
      s.box[4 * n + 1] = Math.max(ax, bx);
      s.box[4 * n + 2] = Math.min(ay, by);
      s.box[4 * n + 3] = Math.max(ay, by);
      s.ring[n] = r;
      s.index[n] = k;
      s.ringSize[n] = ring.length - 1;
    }
  }
  return s;
}

/** The crossing point of segments i and j when they cross properly or overlap along a line. */
function test(s: Segments, i: number, j: number): [number, number] | null {
  const box = s.box;
  if ((box[4 * i + 1] as number) < (box[4 * j] as number) || (box[4 * j + 1] as number) < (box[4 * i] as number)) return null;
  if ((box[4 * i + 3] as number) < (box[4 * j + 2] as number) || (box[4 * j + 3] as number) < (box[4 * i + 2] as number)) return null;
  const xy = s.xy;
  const ax = xy[4 * i] as number, ay = xy[4 * i + 1] as number, bx = xy[4 * i + 2] as number, by = xy[4 * i + 3] as number;
  const cx = xy[4 * j] as number, cy = xy[4 * j + 1] as number, dx = xy[4 * j + 2] as number, dy = xy[4 * j + 3] as number;
  if (s.ring[i] === s.ring[j]) {
    const d = Math.abs((s.index[i] as number) - (s.index[j] as number));
    if (d === 1 || d === (s.ringSize[i] as number) - 1) return null; // neighbours share a vertex
  }
  const o1 = Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
  const o2 = Math.sign((bx - ax) * (dy - ay) - (by - ay) * (dx - ax));
  const o3 = Math.sign((dx - cx) * (ay - cy) - (dy - cy) * (ax - cx));
  const o4 = Math.sign((dx - cx) * (by - cy) - (dy - cy) * (bx - cx));
  if (o1 * o2 < 0 && o3 * o4 < 0) {
    const u = ((cx - ax) * (dy - cy) - (cy - ay) * (dx - cx)) / ((bx - ax) * (dy - cy) - (by - ay) * (dx - cx));
    return [ax + u * (bx - ax), ay + u * (by - ay)];
  }
  if (o1 !== 0 || o2 !== 0 || o3 !== 0 || o4 !== 0) return null;
  // Collinear: an overlap of more than a point.
  const alongX = Math.abs(bx - ax) >= Math.abs(by - ay);
  const lo = alongX ? Math.max(Math.min(ax, bx), Math.min(cx, dx)) : Math.max(Math.min(ay, by), Math.min(cy, dy));
  const hi = alongX ? Math.min(Math.max(ax, bx), Math.max(cx, dx)) : Math.min(Math.max(ay, by), Math.max(cy, dy));
  if (hi <= lo) return null;
  return alongX ? [lo, ay + ((lo - ax) * (by - ay)) / (bx - ax)] : [ax + ((lo - ay) * (bx - ax)) / (by - ay), lo];
}

function describe(s: Segments, i: number, j: number): string {
  const ri = s.ring[i] as number;
  const rj = s.ring[j] as number;
  if (ri === rj) return `${ri === 0 ? 'exterior ring' : `ring ${ri + 1}`} crosses itself`;
  const [a, b] = ri < rj ? [ri, rj] : [rj, ri];
  return `ring ${b + 1} crosses ${a === 0 ? 'the exterior ring' : `ring ${a + 1}`}`;
}

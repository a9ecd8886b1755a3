import type { Geometry, Position } from 'geojson';
import type { Problem } from './validation-policy.js';

/** A polygon's segments in flat arrays (most polygons are small; objects per segment would dominate). */
interface Segments {
  n: number;
  /** ax, ay, bx, by per segment. */
  xy: Float64Array;
  ring: Int32Array;
  index: Int32Array;
  /** Segments in the segment's ring (a closed ring of n points has n - 1). */
  ringSize: Int32Array;
}

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
  if (g.type === 'Polygon') return checkPolygon(g.coordinates, '');
  if (g.type !== 'MultiPolygon') return null;
  for (let i = 0; i < g.coordinates.length; i++) {
    const found = checkPolygon(g.coordinates[i] as Position[][], g.coordinates.length > 1 ? `part ${i + 1}: ` : '');
    if (found) return found;
  }
  return null;
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
  const minX = new Float64Array(s.n);
  const maxX = new Float64Array(s.n);
  for (let k = 0; k < s.n; k++) {
    minX[k] = Math.min(s.xy[4 * k] as number, s.xy[4 * k + 2] as number);
    maxX[k] = Math.max(s.xy[4 * k] as number, s.xy[4 * k + 2] as number);
  }
  const order = Uint32Array.from({ length: s.n }, (_, k) => k).sort((a, b) => (minX[a] as number) - (minX[b] as number));
  let tests = 0;
  for (let a = 0; a < order.length; a++) {
    const i = order[a] as number;
    const right = maxX[i] as number;
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b] as number;
      if ((minX[j] as number) > right) break;
      if (++tests > MAX_PAIR_TESTS) return null;
      const at = test(s, i, j);
      if (at) return [i, j, at[0], at[1]];
    }
  }
  return null;
}

function collectSegments(rings: Position[][]): Segments {
  const total = rings.reduce((sum, r) => sum + Math.max(0, r.length - 1), 0);
  const s: Segments = { n: 0, xy: new Float64Array(4 * total), ring: new Int32Array(total), index: new Int32Array(total), ringSize: new Int32Array(total) };
  rings.forEach((ring, r) => {
    for (let k = 0; k + 1 < ring.length; k++) {
      const a = ring[k] as Position;
      const b = ring[k + 1] as Position;
      if (a[0] === b[0] && a[1] === b[1]) continue; // repeated points make no segment
      const n = s.n++;
      s.xy[4 * n] = a[0] as number;
      s.xy[4 * n + 1] = a[1] as number;
      s.xy[4 * n + 2] = b[0] as number;
      s.xy[4 * n + 3] = b[1] as number;
      s.ring[n] = r;
      s.index[n] = k;
      s.ringSize[n] = ring.length - 1;
    }
  });
  return s;
}

/** The crossing point of segments i and j when they cross properly or overlap along a line. */
function test(s: Segments, i: number, j: number): [number, number] | null {
  const xy = s.xy;
  const ax = xy[4 * i] as number, ay = xy[4 * i + 1] as number, bx = xy[4 * i + 2] as number, by = xy[4 * i + 3] as number;
  const cx = xy[4 * j] as number, cy = xy[4 * j + 1] as number, dx = xy[4 * j + 2] as number, dy = xy[4 * j + 3] as number;
  if (Math.max(ax, bx) < Math.min(cx, dx) || Math.max(cx, dx) < Math.min(ax, bx)) return null;
  if (Math.max(ay, by) < Math.min(cy, dy) || Math.max(cy, dy) < Math.min(ay, by)) return null;
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

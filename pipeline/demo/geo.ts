// Small planar geometry helpers for the demo generator. The demo area spans
// about 130 km, so local tangent-plane metres are accurate enough for shaping
// features; exact areas are computed later on the projected coordinates.

/** A coordinate pair: [lon, lat] in degrees or [x, y] in metres. */
export type Position = [number, number];
/** A closed ring: the first position is repeated at the end. */
export type Ring = Position[];
/** One polygon: the outer ring, then its holes. */
export type PolygonRings = Ring[];

const METRES_PER_DEGREE_LAT = 110_574;
const METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320;

/** Moves a lon/lat point by dx metres east and dy metres north. */
export function offsetLonLat(origin: Position, dx: number, dy: number): Position {
  const mx = METRES_PER_DEGREE_LON_AT_EQUATOR * Math.cos((origin[1] * Math.PI) / 180);
  return [origin[0] + dx / mx, origin[1] + dy / METRES_PER_DEGREE_LAT];
}

/** Expresses a lon/lat point in metres east/north of an origin. */
export function toLocalMetres(origin: Position, p: Position): Position {
  const mx = METRES_PER_DEGREE_LON_AT_EQUATOR * Math.cos((origin[1] * Math.PI) / 180);
  return [(p[0] - origin[0]) * mx, (p[1] - origin[1]) * METRES_PER_DEGREE_LAT];
}

/** Returns the ring closed (first position repeated at the end). */
export function closeRing(points: Position[]): Ring {
  const first = points[0];
  if (first === undefined) throw new Error('empty ring');
  return [...points, [first[0], first[1]]];
}

/** Shoelace signed area; positive means counter-clockwise with y pointing up. */
export function signedArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i] as Position;
    const b = ring[i + 1] as Position;
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum / 2;
}

/** Returns the ring in the requested winding (y up), reversing a copy if needed. */
export function orientRing(ring: Ring, clockwise: boolean): Ring {
  const isClockwise = signedArea(ring) < 0;
  return isClockwise === clockwise ? ring : [...ring].reverse();
}

/** Area of a polygon (outer minus holes), whatever the windings. */
export function polygonArea(rings: PolygonRings): number {
  let area = 0;
  rings.forEach((ring, i) => {
    area += i === 0 ? Math.abs(signedArea(ring)) : -Math.abs(signedArea(ring));
  });
  return area;
}

/** Even-odd point-in-ring test. */
export function isPointInRing(p: Position, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i] as Position;
    const b = ring[j] as Position;
    if (a[1] > p[1] !== b[1] > p[1] && p[0] < ((b[0] - a[0]) * (p[1] - a[1])) / (b[1] - a[1]) + a[0]) {
      inside = !inside;
    }
  }
  return inside;
}

/**
 * Prepares a fast distance-to-polyline function: segments are grouped in runs
 * with a bounding box, and a run whose box is farther than the best distance
 * so far is skipped. The farmland generator asks tens of thousands of times.
 */
export function createLineDistance(line: readonly Position[], runLength = 16): (p: Position) => number {
  const runs: { first: number; last: number; box: [number, number, number, number] }[] = [];
  for (let first = 0; first + 1 < line.length; first += runLength) {
    const last = Math.min(line.length - 1, first + runLength);
    const points = line.slice(first, last + 1);
    const xs = points.map((q) => q[0]);
    const ys = points.map((q) => q[1]);
    runs.push({ first, last, box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] });
  }
  return (p) => {
    const mx = METRES_PER_DEGREE_LON_AT_EQUATOR * Math.cos((p[1] * Math.PI) / 180);
    let best = Infinity;
    for (const run of runs) {
      const gapX = Math.max(run.box[0] - p[0], 0, p[0] - run.box[2]) * mx;
      const gapY = Math.max(run.box[1] - p[1], 0, p[1] - run.box[3]) * METRES_PER_DEGREE_LAT;
      if (Math.hypot(gapX, gapY) < best) best = distanceToSegments(p, line, run.first, run.last, best);
    }
    return best;
  };
}

/** Least distance from p to the segments between vertices first..last, or best if smaller. */
function distanceToSegments(p: Position, line: readonly Position[], first: number, last: number, best: number): number {
  // One scale for the whole run (taken at p); the error over a few km is negligible here.
  const mx = METRES_PER_DEGREE_LON_AT_EQUATOR * Math.cos((p[1] * Math.PI) / 180);
  for (let i = first; i < last; i++) {
    const a = line[i] as Position;
    const b = line[i + 1] as Position;
    const ax = (a[0] - p[0]) * mx;
    const ay = (a[1] - p[1]) * METRES_PER_DEGREE_LAT;
    const dx = (b[0] - a[0]) * mx;
    const dy = (b[1] - a[1]) * METRES_PER_DEGREE_LAT;
    const lengthSq = dx * dx + dy * dy;
    const t = lengthSq === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / lengthSq));
    best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
  }
  return best;
}

/** Samples a Catmull-Rom spline through the control points about every stepMetres. */
export function smoothLine(controls: readonly Position[], stepMetres: number): Position[] {
  const out: Position[] = [];
  const at = (i: number): Position => controls[Math.max(0, Math.min(controls.length - 1, i))] as Position;
  for (let i = 0; i + 1 < controls.length; i++) {
    const [p0, p1, p2, p3] = [at(i - 1), at(i), at(i + 1), at(i + 2)];
    const [dx, dy] = toLocalMetres(p1, p2);
    const steps = Math.max(1, Math.ceil(Math.hypot(dx, dy) / stepMetres));
    for (let s = 0; s < steps; s++) {
      const t = s / steps;
      out.push([catmullRom(p0[0], p1[0], p2[0], p3[0], t), catmullRom(p0[1], p1[1], p2[1], p3[1], t)]);
    }
  }
  const last = controls[controls.length - 1] as Position;
  out.push([last[0], last[1]]);
  return out;
}

function catmullRom(p0: number, p1: number, p2: number, p3: number, t: number): number {
  const t2 = t * t;
  const t3 = t2 * t;
  return 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3);
}

/** A star-shaped closed ring around a lon/lat centre, radius in metres per angle. */
export function radialRing(centre: Position, vertices: number, radius: (theta: number) => number): Ring {
  const points: Position[] = [];
  for (let i = 0; i < vertices; i++) {
    const theta = (2 * Math.PI * i) / vertices;
    const r = radius(theta);
    points.push(offsetLonLat(centre, r * Math.cos(theta), r * Math.sin(theta)));
  }
  return closeRing(points);
}

/** True when any edge of ring a properly crosses or touches any edge of ring b. */
export function doRingsCross(a: Ring, b: Ring): boolean {
  for (let i = 0; i + 1 < a.length; i++) {
    for (let j = 0; j + 1 < b.length; j++) {
      if (doSegmentsMeet(a[i] as Position, a[i + 1] as Position, b[j] as Position, b[j + 1] as Position)) return true;
    }
  }
  return false;
}

function doSegmentsMeet(p1: Position, p2: Position, q1: Position, q2: Position): boolean {
  const d1 = cross(q1, q2, p1);
  const d2 = cross(q1, q2, p2);
  const d3 = cross(p1, p2, q1);
  const d4 = cross(p1, p2, q2);
  return (d1 > 0) !== (d2 > 0) && (d3 > 0) !== (d4 > 0);
}

function cross(o: Position, a: Position, b: Position): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

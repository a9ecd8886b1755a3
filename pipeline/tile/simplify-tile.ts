import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';

type Ring = [number, number][];

/**
 * Simplifies tile geometry further (Douglas–Peucker in tile units), for tiles over
 * the size budget. Rings and lines keep their end points; the caller cleans the
 * result (rings that collapse are removed there). Points are left as they are.
 */
export function simplifyFeatures(features: readonly GeoJSONVTFeature[], tolerance: number): GeoJSONVTFeature[] {
  const sq = tolerance * tolerance;
  return features.map((f) => (f.type === 1 ? f : { ...f, geometry: (f.geometry as Ring[]).map((ring) => simplifyLine(ring, sq)) }));
}

/** Douglas–Peucker over one line or closed ring, iterative so long rings cannot overflow the stack. */
export function simplifyLine(points: Ring, sqTolerance: number): Ring {
  const n = points.length;
  if (n <= 3) return points;
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const stack: number[] = [0, n - 1];
  while (stack.length) {
    const last = stack.pop() as number;
    const first = stack.pop() as number;
    let worst = -1;
    let worstSq = sqTolerance;
    for (let i = first + 1; i < last; i++) {
      const d = sqSegmentDistance(points[i] as [number, number], points[first] as [number, number], points[last] as [number, number]);
      if (d > worstSq) {
        worst = i;
        worstSq = d;
      }
    }
    if (worst < 0) continue;
    keep[worst] = 1;
    if (worst - first > 1) stack.push(first, worst);
    if (last - worst > 1) stack.push(worst, last);
  }
  // A closed ring's ends coincide, so its first chord has zero length and the farthest point from the start is kept.
  const out: Ring = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(points[i] as [number, number]);
  return out;
}

function sqSegmentDistance(p: [number, number], a: [number, number], b: [number, number]): number {
  let x = a[0];
  let y = a[1];
  let dx = b[0] - x;
  let dy = b[1] - y;
  if (dx !== 0 || dy !== 0) {
    const t = ((p[0] - x) * dx + (p[1] - y) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = b[0];
      y = b[1];
    } else if (t > 0) {
      x += dx * t;
      y += dy * t;
    }
  }
  dx = p[0] - x;
  dy = p[1] - y;
  return dx * dx + dy * dy;
}

import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';

type Ring = [number, number][];

/**
 * Removes what MVT 2.1 forbids but simplified geojson-vt output contains: rings
 * with fewer than four points or zero area (and the holes of a dropped exterior),
 * repeated points, lines shorter than two points. Returns the features that remain.
 */
export function cleanTileFeatures(features: readonly GeoJSONVTFeature[]): GeoJSONVTFeature[] {
  const out: GeoJSONVTFeature[] = [];
  for (const f of features) {
    if (f.type === 1) {
      out.push(f);
    } else if (f.type === 2) {
      const lines = (f.geometry as Ring[]).map(dropRepeats).filter((l: Ring) => l.length >= 2);
      if (lines.length) out.push({ ...f, geometry: lines });
    } else {
      const rings = cleanPolygonRings(f.geometry as Ring[]);
      if (rings.length) out.push({ ...f, geometry: rings });
    }
  }
  return out;
}

/** Signed area by the surveyor's formula; positive = exterior ring in MVT's y-down tile space. */
export function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[j] as [number, number];
    const b = ring[i] as [number, number];
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum / 2;
}

function cleanPolygonRings(rings: Ring[]): Ring[] {
  const kept: Ring[] = [];
  let exteriorKept = false;
  for (const raw of rings) {
    const ring = closeRing(dropRepeats(raw));
    const area = ring.length >= 4 ? ringArea(ring) : 0;
    // A zero-area ring is dropped; a hole of a zero-area exterior has zero area too.
    if (area > 0) exteriorKept = true;
    if (area > 0 || (area < 0 && exteriorKept)) kept.push(ring);
  }
  return kept;
}

function dropRepeats(points: Ring): Ring {
  const out: Ring = [];
  for (const p of points) {
    const prev = out[out.length - 1];
    // Points are shared, not copied: nothing downstream changes a point in place.
    if (!prev || prev[0] !== p[0] || prev[1] !== p[1]) out.push(p);
  }
  return out;
}

function closeRing(ring: Ring): Ring {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) ring.push([first[0], first[1]]);
  return ring;
}

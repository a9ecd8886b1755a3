// 生态保护红线: corridors along the eco rivers, cut into segments of 13–21 km,
// with holes (river islands and excluded villages) and, now and then, a
// detached wetland that makes the feature a MultiPolygon; plus 东昌湖 with
// the old town island as its hole.
import { LAKE_CENTRE, LAKE_RADIUS, nearestCounty, riverHalfWidth, toRiverKeepOut, type River } from './city.js';
import { projectRing } from './crs.js';
import {
  closeRing, doRingsCross, isPointInRing, offsetLonLat, polygonArea, radialRing, toLocalMetres,
  type PolygonRings, type Position, type Ring,
} from './geo.js';
import { discKeepOut, isClearOf, type KeepOut } from './keep-out.js';
import { buildOldTownRing } from './layer-heritage.js';
import { drawRadialProfile } from './layer-ubound.js';
import type { Random } from './random.js';
import type { DemoGeoFeature } from './write-geojson.js';

const YSDM_ECO_REDLINE = '2090010100';
const SYNTHETIC = '（合成）';

interface Frame {
  p: Position;
  tangent: Position;
  normal: Position;
  halfWidth: number;
}

/**
 * 东昌湖's shoreline: a gently irregular ring around the old town. Rounded to
 * the GeoJSON precision up front, because the same ring is the hole in the
 * central city's development boundary and the two must not leave slivers.
 */
export function buildLakeRing(random: Random): Ring {
  const round = (v: number): number => Math.round(v * 1e7) / 1e7;
  return radialRing(LAKE_CENTRE, 256, drawRadialProfile(random, LAKE_RADIUS, 0.6)).map(([x, y]): Position => [round(x), round(y)]);
}

interface EcoPart {
  name: string;
  polygons: PolygonRings[];
  /** Where the part's county is taken from. */
  anchor: Position;
}

/** Builds the red-line features; wetlands avoid `avoid` and are returned as keep-outs. */
export function buildEcoRedline(
  random: Random,
  rivers: readonly River[],
  lakeRing: Ring,
  avoid: readonly KeepOut[],
): { features: DemoGeoFeature[]; keepOuts: KeepOut[] } {
  const zones: KeepOut[] = [...avoid, ...rivers.map(toRiverKeepOut)];
  const keepOuts: KeepOut[] = [];
  const parts: EcoPart[] = [];
  for (const river of rivers.filter((r) => r.eco)) {
    const frames = buildFrames(river);
    splitIndices(random, frames.length).forEach(([a, b], s) => {
      const middle = frames[Math.floor((a + b) / 2)] as Frame;
      const polygons: PolygonRings[] = [buildSegment(random, frames, a, b, s === 0)];
      const wetland = random.chance(0.35) ? drawWetland(random, middle, zones) : undefined;
      if (wetland) {
        polygons.push([wetland.ring]);
        keepOuts.push(wetland.keepOut);
      }
      parts.push({ name: river.name, polygons, anchor: middle.p });
    });
  }
  parts.push({ name: '东昌湖', polygons: [[lakeRing, buildOldTownRing(120)]], anchor: LAKE_CENTRE });
  return { features: parts.map(toEcoFeature), keepOuts };
}

function toEcoFeature(part: EcoPart, index: number): DemoGeoFeature {
  const area = part.polygons.reduce((sum, rings) => sum + polygonArea(rings.map(projectRing)), 0);
  const [first] = part.polygons;
  return {
    geometry: part.polygons.length === 1 && first ? { type: 'Polygon', rings: first } : { type: 'MultiPolygon', polygons: part.polygons },
    properties: {
      BSM: `${nearestCounty(part.anchor).xzqdm}5${String(index + 1).padStart(11, '0')}`,
      YSDM: YSDM_ECO_REDLINE,
      HXMC: `${part.name}生态保护红线${SYNTHETIC}`,
      MJ: Math.round(area * 100) / 100,
    },
  };
}

/** A local frame (unit tangent and left normal, in metres) at each centreline vertex. */
function buildFrames(river: River): Frame[] {
  const line = river.centreline;
  return line.map((p, i) => {
    const prev = line[Math.max(0, i - 1)] as Position;
    const next = line[Math.min(line.length - 1, i + 1)] as Position;
    const [tx, ty] = toLocalMetres(prev, next);
    const length = Math.hypot(tx, ty) || 1;
    return { p, tangent: [tx / length, ty / length], normal: [-ty / length, tx / length], halfWidth: riverHalfWidth(river, i / (line.length - 1)) };
  });
}

/** The point u metres along and v metres left of a frame. */
function atFrame(f: Frame, u: number, v: number): Position {
  return offsetLonLat(f.p, f.tangent[0] * u + f.normal[0] * v, f.tangent[1] * u + f.normal[1] * v);
}

/** Vertex ranges [a, b] of consecutive segments; neighbours share their end cross-section. */
function splitIndices(random: Random, count: number): [number, number][] {
  const ranges: [number, number][] = [];
  let a = 0;
  while (a < count - 1) {
    let b = Math.min(count - 1, a + random.int(45, 70));
    if (count - 1 - b < 25) b = count - 1;
    ranges.push([a, b]);
    a = b;
  }
  return ranges;
}

function buildSegment(random: Random, frames: readonly Frame[], a: number, b: number, forceHole: boolean): PolygonRings {
  const span = frames.slice(a, b + 1);
  const outer = closeRing([...span.map((f) => atFrame(f, 0, f.halfWidth)), ...[...span].reverse().map((f) => atFrame(f, 0, -f.halfWidth))]);
  const holeCount = b - a < 30 ? 0 : Math.max(forceHole ? 1 : 0, random.int(0, 2));
  const holes: Ring[] = [];
  for (let k = 0; k < holeCount; k++) {
    const slot = a + Math.round(((k + 1) * (b - a)) / (holeCount + 1)) + random.int(-3, 3);
    const island = buildIsland(random, frames, Math.max(a + 8, Math.min(b - 8, slot)));
    // Where the river bends hard, or the segment is short, an island could touch the bank or
    // another island; such an island is dropped.
    const first = island[0] as Position;
    const clashes =
      [outer, ...holes].some((ring) => doRingsCross(island, ring)) ||
      holes.some((h) => isPointInRing(first, h) || isPointInRing(h[0] as Position, island));
    if (isPointInRing(first, outer) && !clashes) holes.push(island);
  }
  return [outer, ...holes];
}

/** An elliptical island well inside the corridor (kept to 40% of the narrowest half width nearby). */
function buildIsland(random: Random, frames: readonly Frame[], m: number): Ring {
  const nearby = frames.slice(Math.max(0, m - 6), m + 7);
  const narrowest = Math.min(...nearby.map((f) => f.halfWidth));
  const frame = frames[m] as Frame;
  const along = Math.min(1.2 * narrowest, 1400);
  const across = 0.4 * narrowest;
  const shift = random.range(-0.12, 0.12) * narrowest;
  const points: Position[] = [];
  for (let k = 0; k < 24; k++) {
    const phi = (2 * Math.PI * k) / 24;
    const wobble = 1 + random.range(-0.05, 0.05);
    points.push(atFrame(frame, along * Math.cos(phi) * wobble, shift + across * Math.sin(phi) * wobble));
  }
  return closeRing(points);
}

/** A wetland beside the corridor, or nothing if that spot is not clear of the other layers. */
function drawWetland(random: Random, frame: Frame, zones: readonly KeepOut[]): { ring: Ring; keepOut: KeepOut } | undefined {
  const radius = random.range(300, 700);
  const side = random.chance(0.5) ? 1 : -1;
  const centre = atFrame(frame, 0, side * (frame.halfWidth * 1.6 + 600 + radius * 1.3));
  const profile = drawRadialProfile(random, radius, 0.6);
  if (!isClearOf(zones, centre, radius * 1.3 + 300)) return undefined;
  return { ring: radialRing(centre, 64, profile), keepOut: discKeepOut(centre, radius * 1.3) };
}

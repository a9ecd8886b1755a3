// The shape of the synthetic city: a Liaocheng-like layout of county seats,
// rivers and an outline. Positions are approximate and invented for the demo;
// nothing here is official data.
import { createLineDistance, smoothLine, toLocalMetres, type Position } from './geo.js';
import type { KeepOut } from './keep-out.js';
import type { Random } from './random.js';

/** The one seed every demo layer derives its random stream from. */
export const DEMO_SEED = 0x4c43_2026;

/** City-level XZQDM (聊城市本级), for features that belong to no single county. */
export const CITY_XZQDM = '371500';

/** A county-level division and the seat its parcels are assigned by. */
export interface County {
  xzqdm: string;
  name: string;
  seat: Position;
}

/** County seats; a parcel belongs to the county of the nearest seat. */
export const COUNTIES: readonly County[] = [
  { xzqdm: '371502', name: '东昌府区', seat: [115.98, 36.45] },
  { xzqdm: '371503', name: '茌平区', seat: [116.25, 36.58] },
  { xzqdm: '371521', name: '阳谷县', seat: [115.79, 36.11] },
  { xzqdm: '371522', name: '莘县', seat: [115.67, 36.23] },
  { xzqdm: '371524', name: '东阿县', seat: [116.25, 36.33] },
  { xzqdm: '371525', name: '冠县', seat: [115.44, 36.48] },
  { xzqdm: '371526', name: '高唐县', seat: [116.23, 36.86] },
  { xzqdm: '371581', name: '临清市', seat: [115.7, 36.84] },
];

/** An urban area that gets a 城镇开发边界 polygon. */
export interface Town {
  xzqdm: string;
  name: string;
  centre: Position;
  /** Mean radius in metres. */
  radius: number;
}

/** The central city and six satellite towns. */
export const TOWNS: readonly Town[] = [
  { xzqdm: '371502', name: '聊城市中心城区', centre: [115.98, 36.45], radius: 6000 },
  { xzqdm: '371581', name: '临清市中心城区', centre: [115.7, 36.84], radius: 2600 },
  { xzqdm: '371526', name: '高唐县县城', centre: [116.23, 36.86], radius: 2000 },
  { xzqdm: '371503', name: '茌平区城区', centre: [116.25, 36.58], radius: 2200 },
  { xzqdm: '371524', name: '东阿县县城', centre: [116.25, 36.33], radius: 1700 },
  { xzqdm: '371521', name: '阳谷县县城', centre: [115.79, 36.11], radius: 2300 },
  { xzqdm: '371522', name: '莘县县城', centre: [115.67, 36.23], radius: 2000 },
];

/** 东昌湖 and the old town on its island, at the heart of the central city. */
export const LAKE_CENTRE: Position = [115.99, 36.45];
/** Mean radius of 东昌湖 in metres. */
export const LAKE_RADIUS = 1400;
/** Half the side of the old town square in metres. */
export const OLD_TOWN_HALF_SIDE = 450;

/** A river: a smoothed, gently meandering centreline and a corridor width. */
export interface River {
  name: string;
  /** Whether its corridor is part of the ecological protection red line. */
  eco: boolean;
  /** Corridor half width in metres (varies ±25% along the river). */
  halfWidth: number;
  centreline: Position[];
  /** Distance in metres from a point to the centreline. */
  distanceTo: (p: Position) => number;
}

interface RiverSketch {
  name: string;
  eco: boolean;
  halfWidth: number;
  meander: { amplitude: number; wavelength: number };
  controls: Position[];
}

const RIVER_SKETCHES: readonly RiverSketch[] = [
  {
    name: '京杭运河', eco: false, halfWidth: 120, meander: { amplitude: 60, wavelength: 3000 },
    controls: [[116.08, 35.9], [116.03, 36.1], [115.99, 36.3], [116.012, 36.45], [115.94, 36.6], [115.8, 36.72], [115.712, 36.84], [115.58, 36.99]],
  },
  {
    name: '徒骇河', eco: true, halfWidth: 350, meander: { amplitude: 250, wavelength: 5000 },
    controls: [[115.55, 35.88], [115.78, 35.98], [115.92, 36.1], [116.0, 36.25], [116.1, 36.4], [116.15, 36.55], [116.3, 36.7], [116.45, 36.88], [116.58, 36.99]],
  },
  {
    name: '马颊河', eco: true, halfWidth: 300, meander: { amplitude: 220, wavelength: 4500 },
    controls: [[115.36, 36.05], [115.58, 36.3], [115.75, 36.5], [115.88, 36.65], [116.05, 36.8], [116.2, 36.95], [116.3, 37.0]],
  },
  {
    name: '黄河', eco: true, halfWidth: 1800, meander: { amplitude: 600, wavelength: 16000 },
    controls: [[115.5, 35.79], [115.8, 35.9], [116.0, 36.0], [116.18, 36.13], [116.35, 36.25], [116.58, 36.35]],
  },
];

/** The city outline (counter-clockwise); farmland is only placed inside it. */
export const CITY_OUTLINE: readonly Position[] = [
  [115.3, 36.45], [115.42, 36.2], [115.47, 35.95], [115.55, 35.82], [115.8, 35.86], [116.0, 35.98],
  [116.2, 36.1], [116.38, 36.26], [116.44, 36.5], [116.56, 36.72], [116.52, 36.96], [116.3, 36.99],
  [116.05, 36.95], [115.8, 36.99], [115.55, 36.93], [115.4, 36.76], [115.32, 36.6], [115.3, 36.45],
];

/** Builds every river's centreline (smoothed, with a deterministic meander). */
export function buildRivers(random: Random): River[] {
  return RIVER_SKETCHES.map((sketch) => {
    const phase = random.range(0, 2 * Math.PI);
    const centreline = meander(smoothLine(sketch.controls, 300), sketch.meander, phase);
    return { name: sketch.name, eco: sketch.eco, halfWidth: sketch.halfWidth, centreline, distanceTo: createLineDistance(centreline) };
  });
}

/** Shifts each vertex sideways by a sine of the distance along the line. */
function meander(line: Position[], shape: { amplitude: number; wavelength: number }, phase: number): Position[] {
  let along = 0;
  return line.map((p, i) => {
    const prev = line[Math.max(0, i - 1)] as Position;
    const next = line[Math.min(line.length - 1, i + 1)] as Position;
    if (i > 0) along += Math.hypot(...toLocalMetres(prev, p));
    const [tx, ty] = toLocalMetres(prev, next);
    const length = Math.hypot(tx, ty) || 1;
    const k = (2 * Math.PI) / shape.wavelength;
    const offset = shape.amplitude * (Math.sin(k * along + phase) + 0.35 * Math.sin(2.3 * k * along + 2 * phase));
    const mx = 111_320 * Math.cos((p[1] * Math.PI) / 180);
    return [p[0] + (-ty / length) * (offset / mx), p[1] + (tx / length) * (offset / 110_574)];
  });
}

/** Corridor half width at a given fraction along the river. */
export function riverHalfWidth(river: River, fraction: number): number {
  return river.halfWidth * (1 + 0.25 * Math.sin(fraction * 7.1 + river.name.length));
}

/** The county whose seat is nearest to a point. */
export function nearestCounty(p: Position): County {
  let best = COUNTIES[0] as County;
  let bestDistance = Infinity;
  for (const county of COUNTIES) {
    const d = Math.hypot(...toLocalMetres(p, county.seat));
    if (d < bestDistance) [best, bestDistance] = [county, d];
  }
  return best;
}

/** The river's corridor (at its widest) as a keep-out zone. */
export function toRiverKeepOut(river: River): KeepOut {
  return { clearance: (p) => river.distanceTo(p) - river.halfWidth * 1.25 };
}

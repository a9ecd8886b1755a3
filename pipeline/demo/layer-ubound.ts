// 城镇开发边界: one very detailed, irregular polygon per town. Each outline is
// star-shaped around the town centre (radius = a sum of sines), so it is a
// simple polygon by construction however many vertices it gets.
import { TOWNS, type Town } from './city.js';
import { projectRing } from './crs.js';
import { polygonArea, radialRing, toLocalMetres, type PolygonRings, type Position, type Ring } from './geo.js';
import type { KeepOut } from './keep-out.js';
import type { Random } from './random.js';
import type { ShapefileLayer } from './write-shapefile.js';

/** A town's development boundary and the keep-out it implies for farmland. */
export interface UrbanArea {
  town: Town;
  /** Outer ring, then holes (lon/lat). */
  rings: PolygonRings;
  keepOut: KeepOut;
}

const FREQUENCIES = [2, 3, 5, 8, 13, 21, 34, 55, 89] as const;
const YSDM_UBOUND = '2090020100';
/** How far (in relative radius) each vertex may stray from the smooth profile. */
const VERTEX_JITTER = 0.004;

/** Draws a smooth random radius profile around a mean radius (within ±32% × roughness). */
export function drawRadialProfile(random: Random, meanRadius: number, roughness = 1): (theta: number) => number {
  const terms = FREQUENCIES.map((k) => ({ k, amplitude: (0.2 * roughness) / k ** 0.9, phase: random.range(0, 2 * Math.PI) }));
  return (theta) => meanRadius * (1 + terms.reduce((sum, t) => sum + t.amplitude * Math.sin(t.k * theta + t.phase), 0));
}

/** Builds the seven boundaries; the central city has 东昌湖 (lakeRing) as a hole. */
export function buildUrbanAreas(random: Random, lakeRing: Ring): UrbanArea[] {
  return TOWNS.map((town, i) => {
    const profile = drawRadialProfile(random, town.radius);
    const vertices = i === 0 ? 1600 : random.int(720, 920);
    const outer = radialRing(town.centre, vertices, (theta) => profile(theta) * (1 + random.range(-VERTEX_JITTER, VERTEX_JITTER)));
    const holes = i === 0 ? [lakeRing] : town.xzqdm === '371581' ? [buildVillageHole(random, town)] : [];
    return { town, rings: [outer, ...holes], keepOut: radialKeepOut(town.centre, profile) };
  });
}

/** An excluded village inside 临清's boundary, so a town has a hole of its own. */
function buildVillageHole(random: Random, town: Town): Ring {
  const centre: Position = [town.centre[0] + 0.005, town.centre[1] - 0.003];
  const profile = drawRadialProfile(random, 350);
  return radialRing(centre, 96, profile);
}

function radialKeepOut(centre: Position, profile: (theta: number) => number): KeepOut {
  return {
    clearance: (p) => {
      const [dx, dy] = toLocalMetres(centre, p);
      // The profile is 2π-periodic (integer frequencies), so atan2's range needs no shifting.
      return Math.hypot(dx, dy) - profile(Math.atan2(dy, dx)) * (1 + VERTEX_JITTER);
    },
  };
}

/** The 城镇开发边界 shapefile layer (EPSG:4548). */
export function toUboundLayer(areas: readonly UrbanArea[]): ShapefileLayer {
  return {
    shapeType: 'Polygon',
    fields: [
      { name: 'BSM', type: 'C', length: 18 },
      { name: 'YSDM', type: 'C', length: 10 },
      { name: 'XZQDM', type: 'C', length: 6 },
      { name: 'MC', type: 'C', length: 60 },
      { name: 'MJ', type: 'N', length: 16, decimals: 2 },
    ],
    features: areas.map((area, i) => {
      const projected = area.rings.map(projectRing);
      return {
        polygons: [projected],
        properties: {
          BSM: `${area.town.xzqdm}3${String(i + 1).padStart(11, '0')}`,
          YSDM: YSDM_UBOUND,
          XZQDM: area.town.xzqdm,
          MC: `${area.town.name}城镇开发边界（合成示例）`,
          MJ: Math.round(polygonArea(projected) * 100) / 100,
        },
      };
    }),
  };
}

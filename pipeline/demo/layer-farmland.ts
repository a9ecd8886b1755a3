// 耕地图斑: blocks of fields around invented villages. Blocks sit one per cell
// of a 3.5 km grid, centres jittered by at most 300 m each way (so ≥ 2.9 km
// apart), and a block reaches at most ~1.3 km from its centre: blocks never meet;
// inside a block the fields share a jittered lattice of corners and are each
// shrunk a little toward their centre, leaving field-road gaps, so
// neighbouring parcels never overlap.
import { nearestCounty } from './city.js';
import { projectRing } from './crs.js';
import { closeRing, isPointInRing, offsetLonLat, signedArea, type Position, type Ring } from './geo.js';
import { isClearOf, type KeepOut } from './keep-out.js';
import { drawVillageName } from './names.js';
import type { Random } from './random.js';
import type { ShapefileLayer } from './write-shapefile.js';

/** One generated farmland parcel. */
export interface Parcel {
  bsm: string;
  xzqdm: string;
  dlbm: string;
  village: string;
  /** Index of the block (village) it belongs to. */
  block: number;
  /** Closed ring in EPSG:4548 metres. */
  projected: Ring;
  /** Planar area of the projected ring, m², 2 decimals. */
  area: number;
}

/** 第三次全国国土调查 land-use names for the codes the demo uses. */
export const DLMC_BY_DLBM: Readonly<Record<string, string>> = {
  '0101': '水田', '0102': '水浇地', '0103': '旱地', '0201': '果园', '0301': '乔木林地', '0404': '其他草地', '1104': '坑塘水面',
};

const GRID_SPACING = 3500;
const GRID_ORIGIN: Position = [115.3, 35.8];
const GRID_SIZE = { cols: 34, rows: 39 };
const FIELD_SHRINK = 0.93;
/** Metres a field centre keeps from towns, river corridors, wetlands and heritage sites. */
const FIELD_MARGIN = 250;
const BLOCK_REACH = 1800 + FIELD_MARGIN;
const EDGE_JITTER_METRES = 2.5;
const MINOR_CODES = ['0101', '0102', '0103', '0103', '0201', '0201', '0301', '0404', '1104', '1104'] as const;

interface Block {
  index: number;
  centre: Position;
  angle: number;
  /** (ny + 1) rows of (nx + 1) jittered corners, local metres. */
  corners: Position[][];
  village: string;
  dominant: string;
  xzqdm: string;
  /** Lower-left cell of the 2×2 village settlement left without fields. */
  settlement: Position;
}

/** Generates the parcels inside the outline, clear of every keep-out zone. */
export function buildFarmland(random: Random, zones: readonly KeepOut[], outline: Ring): Parcel[] {
  const parcels: Parcel[] = [];
  const serials = new Map<string, number>();
  let blockIndex = 0;
  for (let row = 0; row < GRID_SIZE.rows; row++) {
    for (let col = 0; col < GRID_SIZE.cols; col++) {
      const jitter: Position = [random.range(-300, 300), random.range(-300, 300)];
      const centre = offsetLonLat(GRID_ORIGIN, (col + 0.5) * GRID_SPACING + jitter[0], (row + 0.5) * GRID_SPACING + jitter[1]);
      if (random.chance(0.03) || !isPointInRing(centre, outline)) continue;
      const block = drawBlock(random, blockIndex++, centre);
      // Only zones within reach of the block can touch its fields (a block spans < 2.4 km).
      const nearZones = zones.filter((zone) => zone.clearance(centre) < BLOCK_REACH);
      for (const { ring: lonLat, centre: fieldCentre } of buildBlockFields(random, block)) {
        if (!isClearOf(nearZones, fieldCentre, FIELD_MARGIN)) continue;
        const serial = (serials.get(block.xzqdm) ?? 0) + 1;
        serials.set(block.xzqdm, serial);
        const dlbm = random.chance(0.86) ? block.dominant : random.pick(MINOR_CODES);
        parcels.push(makeParcel(block, lonLat, dlbm, `${block.xzqdm}1${String(serial).padStart(11, '0')}`));
      }
    }
  }
  return parcels;
}

function makeParcel(block: Block, lonLat: Ring, dlbm: string, bsm: string): Parcel {
  const projected = projectRing(lonLat);
  const area = Math.round(Math.abs(signedArea(projected)) * 100) / 100;
  return { bsm, xzqdm: block.xzqdm, dlbm, village: block.village, block: block.index, projected, area };
}

function drawBlock(random: Random, index: number, centre: Position): Block {
  const nx = random.int(4, 7);
  const ny = random.int(5, 8);
  const width = random.range(200, 270);
  const height = random.range(140, 200);
  const corners: Position[][] = [];
  for (let j = 0; j <= ny; j++) {
    const rowCorners: Position[] = [];
    for (let i = 0; i <= nx; i++) {
      rowCorners.push([(i - nx / 2 + random.range(-0.12, 0.12)) * width, (j - ny / 2 + random.range(-0.12, 0.12)) * height]);
    }
    corners.push(rowCorners);
  }
  const r = random.next();
  const dominant = r < 0.78 ? '0102' : r < 0.95 ? '0103' : '0101';
  const settlement: Position = [random.int(0, nx - 2), random.int(0, ny - 2)];
  return { index, centre, angle: random.range(-0.5, 0.5), corners, village: drawVillageName(random), dominant, xzqdm: nearestCounty(centre).xzqdm, settlement };
}

/** The fields of one block as lon/lat rings, with their centres. */
function buildBlockFields(random: Random, block: Block): { ring: Ring; centre: Position }[] {
  const fields: { ring: Ring; centre: Position }[] = [];
  const rows = block.corners.length - 1;
  for (let j = 0; j < rows; j++) {
    const lower = block.corners[j] as Position[];
    const upper = block.corners[j + 1] as Position[];
    for (let i = 0; i + 1 < lower.length; i++) {
      const di = i - block.settlement[0];
      const dj = j - block.settlement[1];
      if (di >= 0 && di <= 1 && dj >= 0 && dj <= 1) continue; // the village itself
      const quad = [lower[i], lower[i + 1], upper[i + 1], upper[i]] as Position[];
      const local = buildFieldOutline(random, quad);
      const toLonLat = (p: Position): Position => rotateOffset(block, p);
      fields.push({ ring: closeRing(local.map(toLonLat)), centre: toLonLat(averageOf(quad)) });
    }
  }
  return fields;
}

/**
 * A counter-clockwise field outline in local metres: the quad shrunk toward
 * its centre, plus 1–8 extra points on its edges (5–12 vertices in all),
 * nudged sideways by less than the gap between fields.
 */
function buildFieldOutline(random: Random, quad: Position[]): Position[] {
  const centre = averageOf(quad);
  const corners = quad.map((p): Position => [centre[0] + (p[0] - centre[0]) * FIELD_SHRINK, centre[1] + (p[1] - centre[1]) * FIELD_SHRINK]);
  const perEdge = [0, 0, 0, 0];
  const extras = random.int(1, 8);
  for (let k = 0; k < extras; k++) {
    const edge = random.int(0, 3);
    perEdge[edge] = (perEdge[edge] ?? 0) + 1;
  }
  const outline: Position[] = [];
  corners.forEach((a, edge) => {
    outline.push(a, ...buildEdgePoints(random, a, corners[(edge + 1) % 4] as Position, perEdge[edge] ?? 0));
  });
  return outline;
}

function buildEdgePoints(random: Random, a: Position, b: Position, count: number): Position[] {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const length = Math.hypot(dx, dy);
  const [nx, ny] = [-dy / length, dx / length];
  const points: Position[] = [];
  for (let k = 0; k < count; k++) {
    // One point per equal slot of the edge's middle 76%: ordered, apart, and clear of the corners.
    const t = 0.12 + (0.76 * (k + random.range(0.15, 0.85))) / count;
    const offset = random.range(-EDGE_JITTER_METRES, EDGE_JITTER_METRES);
    points.push([a[0] + dx * t + nx * offset, a[1] + dy * t + ny * offset]);
  }
  return points;
}

function averageOf(points: readonly Position[]): Position {
  let x = 0;
  let y = 0;
  for (const p of points) [x, y] = [x + p[0], y + p[1]];
  return [x / points.length, y / points.length];
}

function rotateOffset(block: Block, [u, v]: Position): Position {
  const [c, s] = [Math.cos(block.angle), Math.sin(block.angle)];
  return offsetLonLat(block.centre, u * c - v * s, u * s + v * c);
}

/** The 耕地图斑 shapefile layer (EPSG:4548). */
export function toFarmlandLayer(parcels: readonly Parcel[]): ShapefileLayer {
  return {
    shapeType: 'Polygon',
    fields: [
      { name: 'BSM', type: 'C', length: 18 },
      { name: 'DLBM', type: 'C', length: 4 },
      { name: 'DLMC', type: 'C', length: 20 },
      { name: 'TBMJ', type: 'N', length: 15, decimals: 2 },
      { name: 'XZQDM', type: 'C', length: 6 },
      { name: 'ZLDWMC', type: 'C', length: 60 },
    ],
    features: parcels.map((parcel) => ({
      polygons: [[parcel.projected]],
      properties: {
        BSM: parcel.bsm,
        DLBM: parcel.dlbm,
        DLMC: DLMC_BY_DLBM[parcel.dlbm] ?? '',
        TBMJ: parcel.area,
        XZQDM: parcel.xzqdm,
        ZLDWMC: parcel.village,
      },
    })),
  };
}

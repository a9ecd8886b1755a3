// 永久基本农田: a deterministic ~60% of the farmland parcels, same geometry.
// Whole villages are mostly in or out (as designations are made), and only
// cultivated land (01xx) qualifies.
import { DLMC_BY_DLBM, type Parcel } from './layer-farmland.js';
import type { Random } from './random.js';
import type { ShapefileLayer } from './write-shapefile.js';

/** A designated parcel: the farmland parcel plus its own identifier. */
export interface PbfParcel {
  parcel: Parcel;
  bsm: string;
  jbntlx: string;
}

const BLOCK_SHARE = 0.8;
const PARCEL_SHARE = 0.8;

/** Chooses the permanent basic farmland parcels, in farmland order. */
export function selectPbf(random: Random, parcels: readonly Parcel[]): PbfParcel[] {
  const blockIsDesignated = new Map<number, boolean>();
  const serials = new Map<string, number>();
  const chosen: PbfParcel[] = [];
  for (const parcel of parcels) {
    // Draw every random number for every parcel, so one parcel's fate never shifts another's.
    const blockDraw = blockIsDesignated.get(parcel.block) ?? random.chance(BLOCK_SHARE);
    blockIsDesignated.set(parcel.block, blockDraw);
    const parcelDraw = random.chance(PARCEL_SHARE);
    const type = random.chance(0.9) ? '01' : '02';
    if (!blockDraw || !parcelDraw || !parcel.dlbm.startsWith('01')) continue;
    const serial = (serials.get(parcel.xzqdm) ?? 0) + 1;
    serials.set(parcel.xzqdm, serial);
    chosen.push({ parcel, bsm: `${parcel.xzqdm}2${String(serial).padStart(11, '0')}`, jbntlx: type });
  }
  return chosen;
}

/** The 永久基本农田 shapefile layer (EPSG:4548); TBBSM names the source farmland parcel. */
export function toPbfLayer(pbf: readonly PbfParcel[]): ShapefileLayer {
  return {
    shapeType: 'Polygon',
    fields: [
      { name: 'BSM', type: 'C', length: 18 },
      { name: 'DLBM', type: 'C', length: 4 },
      { name: 'DLMC', type: 'C', length: 20 },
      { name: 'TBMJ', type: 'N', length: 15, decimals: 2 },
      { name: 'XZQDM', type: 'C', length: 6 },
      { name: 'JBNTLX', type: 'C', length: 2 },
      { name: 'TBBSM', type: 'C', length: 18 },
    ],
    features: pbf.map(({ parcel, bsm, jbntlx }) => ({
      polygons: [[parcel.projected]],
      properties: {
        BSM: bsm,
        DLBM: parcel.dlbm,
        DLMC: DLMC_BY_DLBM[parcel.dlbm] ?? '',
        TBMJ: parcel.area,
        XZQDM: parcel.xzqdm,
        JBNTLX: jbntlx,
        TBBSM: parcel.bsm,
      },
    })),
  };
}

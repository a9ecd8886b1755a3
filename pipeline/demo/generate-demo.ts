// `plantiles demo`: writes the deterministic synthetic demo city. Same code,
// same bytes: every layer draws from its own fork of one fixed seed.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CITY_OUTLINE, DEMO_SEED, buildRivers, toRiverKeepOut, type River } from './city.js';
import { GK117_PRJ_WKT } from './crs.js';
import { buildEcoRedline, buildLakeRing } from './layer-eco.js';
import { buildFarmland, toFarmlandLayer } from './layer-farmland.js';
import { buildHeritage } from './layer-heritage.js';
import { selectPbf, toPbfLayer } from './layer-pbf.js';
import { buildProjectsLayer } from './layer-projects.js';
import { buildUrbanAreas, toUboundLayer } from './layer-ubound.js';
import { createRandom } from './random.js';
import { buildReadmeText } from './readme-text.js';
import { encodeFeatureCollection } from './write-geojson.js';
import { writeShapefile, type ShapefileLayer } from './write-shapefile.js';

/** What generateDemo wrote. */
export interface DemoSummary {
  /** The demo directory (absolute). */
  dir: string;
  /** File names relative to dir, in DEMO_SOURCE_FILES order. */
  files: string[];
  /** Feature count per layer id (farmland, pbf, ubound, projects, eco-redline, heritage). */
  counts: Record<string, number>;
}

const SHAPEFILE_LAYERS = ['farmland', 'pbf', 'ubound', 'projects'] as const;
const SHAPEFILE_PARTS = ['shp', 'shx', 'dbf', 'prj', 'cpg'] as const;
const README = 'README.txt';

/** File names (relative to the demo dir) that must all exist for the demo to be complete. */
export const DEMO_SOURCE_FILES: readonly string[] = [
  ...SHAPEFILE_LAYERS.flatMap((layer) => SHAPEFILE_PARTS.map((ext) => `${layer}.${ext}`)),
  'eco-redline.geojson',
  'heritage.geojson',
  README,
];

/**
 * A known parcel for integration tests: the first farmland feature (a 水浇地
 * field of 阳谷县 near the southern tip of the city), with the area-weighted
 * centroid of its ring in CGCS2000 lon/lat (≈ WGS 84 to centimetres); the
 * centroid lies inside the parcel. test/unit/demo.test.ts checks every value
 * against a fresh generation, so it cannot silently go stale.
 */
export const DEMO_PROBE_PARCEL = {
  layer: 'farmland',
  bsm: '371521100000000001',
  xzqdm: '371521',
  dlbm: '0102',
  dlmc: '水浇地',
  tbmj: 39906.47,
  centroid: [115.5462208, 35.8402211] as const,
  /** The parcel is not in pbf.shp (not every field is designated). */
  pbfBsm: null,
} as const;

/** Writes the synthetic demo sources into outDir (created if missing). */
export async function generateDemo(outDir: string): Promise<DemoSummary> {
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });
  const root = createRandom(DEMO_SEED);
  const rivers = buildRivers(root.fork(1));
  const lakeRing = buildLakeRing(root.fork(2));
  const urban = buildUrbanAreas(root.fork(3), lakeRing);
  const heritage = buildHeritage(root.fork(4), findRiver(rivers, '京杭运河'));
  const urbanZones = urban.map((area) => area.keepOut);
  const eco = buildEcoRedline(root.fork(5), rivers, lakeRing, [...urbanZones, ...heritage.keepOuts]);
  const zones = [...urbanZones, ...rivers.map(toRiverKeepOut), ...eco.keepOuts, ...heritage.keepOuts];
  const parcels = buildFarmland(root.fork(6), zones, [...CITY_OUTLINE]);
  const pbf = selectPbf(root.fork(7), parcels);

  const shapefiles: Record<(typeof SHAPEFILE_LAYERS)[number], ShapefileLayer> = {
    farmland: toFarmlandLayer(parcels),
    pbf: toPbfLayer(pbf),
    ubound: toUboundLayer(urban),
    projects: buildProjectsLayer(),
  };
  for (const layer of SHAPEFILE_LAYERS) {
    await writeShapefile(path.join(dir, layer), shapefiles[layer], { prj: GK117_PRJ_WKT, cpg: 'GBK' });
  }
  await writeFile(path.join(dir, 'eco-redline.geojson'), encodeFeatureCollection(eco.features));
  await writeFile(path.join(dir, 'heritage.geojson'), encodeFeatureCollection(heritage.features));
  const counts: Record<string, number> = {
    ...Object.fromEntries(SHAPEFILE_LAYERS.map((layer) => [layer, shapefiles[layer].features.length])),
    'eco-redline': eco.features.length,
    heritage: heritage.features.length,
  };
  // README last: a run killed part-way leaves DEMO_SOURCE_FILES incomplete, so callers regenerate.
  await writeFile(path.join(dir, README), buildReadmeText(counts));
  return { dir, files: [...DEMO_SOURCE_FILES], counts };
}

function findRiver(rivers: readonly River[], name: string): River {
  const river = rivers.find((r) => r.name === name);
  if (!river) throw new Error(`demo river ${name} is missing`);
  return river;
}

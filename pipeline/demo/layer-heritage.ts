// 历史文化保护线: a handful of invented protection areas around real place
// names, plus the Grand Canal as a heritage line. Every name says 合成示例.
import { LAKE_CENTRE, OLD_TOWN_HALF_SIDE, nearestCounty, type River } from './city.js';
import { closeRing, offsetLonLat, radialRing, type Position, type Ring } from './geo.js';
import { discKeepOut, type KeepOut } from './keep-out.js';
import { drawRadialProfile } from './layer-ubound.js';
import type { Random } from './random.js';
import type { DemoGeoFeature } from './write-geojson.js';

interface SiteSketch {
  mc: string;
  lx: string;
  bhjb: string;
  centre: Position;
  /** [half width, half height] in metres for a rotated rectangle, or a mean radius for an irregular outline. */
  shape: [number, number] | number;
}

const NATIONAL = '全国重点文物保护单位';
const SITES: readonly SiteSketch[] = [
  { mc: '光岳楼保护范围', lx: '文物保护单位', bhjb: NATIONAL, centre: LAKE_CENTRE, shape: [45, 45] },
  { mc: '山陕会馆保护范围', lx: '文物保护单位', bhjb: NATIONAL, centre: [116.0165, 36.4465], shape: [60, 90] },
  { mc: '临清中洲古城历史文化街区', lx: '历史文化街区', bhjb: '省级', centre: [115.703, 36.849], shape: 550 },
  { mc: '临清运河钞关保护范围', lx: '文物保护单位', bhjb: NATIONAL, centre: [115.7185, 36.8405], shape: [70, 55] },
  { mc: '阳谷县迷魂阵村传统村落', lx: '传统村落', bhjb: '中国传统村落', centre: [115.88, 36.02], shape: 480 },
  { mc: '茌平区教场铺遗址保护范围', lx: '文物保护单位', bhjb: NATIONAL, centre: [116.12, 36.62], shape: 400 },
  { mc: '东阿县鱼山曹植墓保护范围', lx: '文物保护单位', bhjb: NATIONAL, centre: [116.36, 36.32], shape: 320 },
  { mc: '高唐县旧城历史地段', lx: '历史地段', bhjb: '市级', centre: [116.236, 36.861], shape: 330 },
];

/** Rotation of the old town's street grid, in radians. */
const OLD_TOWN_ROTATION = 0.07;
const SYNTHETIC = '（合成示例）';

/** The old town square on its island in 东昌湖, grown by margin metres. */
export function buildOldTownRing(margin: number): Ring {
  const half = OLD_TOWN_HALF_SIDE + margin;
  const chamfer = half * 0.12;
  // Eight points: a square with its corners cut, like the old city wall.
  const local: Position[] = [
    [half, -half + chamfer], [half, half - chamfer], [half - chamfer, half], [-half + chamfer, half],
    [-half, half - chamfer], [-half, -half + chamfer], [-half + chamfer, -half], [half - chamfer, -half],
  ];
  return closeRing(local.map((p) => rotateOffset(LAKE_CENTRE, p, OLD_TOWN_ROTATION)));
}

function rotateOffset(centre: Position, [u, v]: Position, angle: number): Position {
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  return offsetLonLat(centre, u * c - v * s, u * s + v * c);
}

/** Builds the heritage features and the keep-outs they imply for farmland. */
export function buildHeritage(random: Random, canal: River): { features: DemoGeoFeature[]; keepOuts: KeepOut[] } {
  const features: DemoGeoFeature[] = [];
  const keepOuts: KeepOut[] = [];
  const add = (geometry: DemoGeoFeature['geometry'], centre: Position, site: Omit<SiteSketch, 'centre' | 'shape'>): void => {
    const xzqdm = nearestCounty(centre).xzqdm;
    const bsm = `${xzqdm}6${String(features.length + 1).padStart(11, '0')}`;
    features.push({ geometry, properties: { BSM: bsm, MC: `${site.mc}${SYNTHETIC}`, BHJB: site.bhjb, LX: site.lx } });
  };
  add({ type: 'Polygon', rings: [buildOldTownRing(0)] }, LAKE_CENTRE, { mc: '聊城古城历史文化街区', lx: '历史文化街区', bhjb: '省级' });
  for (const site of SITES) {
    add({ type: 'Polygon', rings: [buildSiteRing(random, site)] }, site.centre, site);
    keepOuts.push(discKeepOut(site.centre, typeof site.shape === 'number' ? site.shape * 1.35 : Math.hypot(...site.shape)));
  }
  add({ type: 'LineString', line: canal.centreline }, LAKE_CENTRE, {
    mc: '京杭大运河（聊城段）遗产保护线',
    lx: '世界文化遗产',
    bhjb: '世界文化遗产',
  });
  return { features, keepOuts };
}

function buildSiteRing(random: Random, site: SiteSketch): Ring {
  if (typeof site.shape === 'number') return radialRing(site.centre, 48, drawRadialProfile(random, site.shape, 0.8));
  const [hw, hh] = site.shape;
  const angle = random.range(-0.2, 0.2);
  const corners: Position[] = [[hw, -hh], [hw, hh], [-hw, hh], [-hw, -hh]];
  return closeRing(corners.map((p) => rotateOffset(site.centre, p, angle)));
}

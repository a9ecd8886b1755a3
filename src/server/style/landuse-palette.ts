/**
 * Land-use colours by DLBM code, after the national classification GB/T 21010-2017
 * (used by the third national land survey, 三调). Colours follow the usual planning-map
 * convention (cultivated land yellow, garden land pink, forest green, water blue …);
 * they are not the official survey symbol library.
 */

/** One land-use class: a 4-digit second-level code or a 2-digit first-level class. */
export interface LandUseClass {
  /** DLBM code: '0101' (second level) or '05' (first level, matched on the code's first two digits). */
  code: string;
  /** Chinese class name (DLMC). */
  name: string;
  /** CSS hex colour. */
  color: string;
}

/** Colour of a DLBM code found in neither level of the palette (or missing). */
export const LANDUSE_DEFAULT_COLOR = '#cfcfcf';

/**
 * The palette, each first-level class followed by its second-level classes, so a legend
 * can be drawn straight from it. Codes with a suffix (三调 '0201K') match their 4-digit code.
 */
export const LANDUSE_PALETTE: readonly LandUseClass[] = Object.freeze(
  [
    { code: '01', name: '耕地', color: '#f2e07a' },
    { code: '0101', name: '水田', color: '#e6dc55' },
    { code: '0102', name: '水浇地', color: '#f4ea8e' },
    { code: '0103', name: '旱地', color: '#f6d98a' },
    { code: '02', name: '园地', color: '#eab6d6' },
    { code: '0201', name: '果园', color: '#e8a0cc' },
    { code: '0202', name: '茶园', color: '#d49ed8' },
    { code: '0203', name: '橡胶园', color: '#d9b2e4' },
    { code: '0204', name: '其他园地', color: '#f1c9e1' },
    { code: '03', name: '林地', color: '#5fae5a' },
    { code: '0301', name: '乔木林地', color: '#3e9a46' },
    { code: '0302', name: '竹林地', color: '#6bb95a' },
    { code: '0303', name: '红树林地', color: '#4b8f6b' },
    { code: '0304', name: '森林沼泽', color: '#5a9e86' },
    { code: '0305', name: '灌木林地', color: '#8dc56f' },
    { code: '0306', name: '灌丛沼泽', color: '#90bf9b' },
    { code: '0307', name: '其他林地', color: '#a7d48c' },
    { code: '04', name: '草地', color: '#c0e3a0' },
    { code: '0401', name: '天然牧草地', color: '#b3dd8d' },
    { code: '0402', name: '沼泽草地', color: '#a7d4b0' },
    { code: '0403', name: '人工牧草地', color: '#cae8a5' },
    { code: '0404', name: '其他草地', color: '#d7edbc' },
    { code: '05', name: '商服用地', color: '#f08a8a' },
    { code: '06', name: '工矿仓储用地', color: '#b98a74' },
    { code: '07', name: '住宅用地', color: '#f5a55c' },
    { code: '08', name: '公共管理与公共服务用地', color: '#f09ad0' },
    { code: '09', name: '特殊用地', color: '#9c7c5c' },
    { code: '10', name: '交通运输用地', color: '#b4b4b4' },
    { code: '1001', name: '铁路用地', color: '#8a8a8a' },
    { code: '1003', name: '公路用地', color: '#a2a2a2' },
    { code: '1004', name: '城镇村道路用地', color: '#bdbdbd' },
    { code: '1006', name: '农村道路', color: '#cbc6b8' },
    { code: '11', name: '水域及水利设施用地', color: '#8cc4ee' },
    { code: '1101', name: '河流水面', color: '#6db2e8' },
    { code: '1102', name: '湖泊水面', color: '#79b8ec' },
    { code: '1103', name: '水库水面', color: '#83bdea' },
    { code: '1104', name: '坑塘水面', color: '#9ecef1' },
    { code: '1106', name: '内陆滩涂', color: '#c5e2ee' },
    { code: '1107', name: '沟渠', color: '#a8d3f2' },
    { code: '1109', name: '水工建筑用地', color: '#7c9fb8' },
    { code: '12', name: '其他土地', color: '#e4dccb' },
    { code: '1202', name: '设施农用地', color: '#e6d2a2' },
    { code: '1203', name: '田坎', color: '#d8cea8' },
    { code: '1206', name: '裸土地', color: '#e9e1d1' },
  ].map((entry) => Object.freeze(entry)),
);

/** A MapLibre expression value as it appears in style JSON. */
export type ExpressionValue = string | number | boolean | ExpressionValue[];

/** `match` arms ([label, colour, label, colour, …]) for the palette codes of one length. */
function matchArms(codeLength: number): string[] {
  return LANDUSE_PALETTE.filter((entry) => entry.code.length === codeLength).flatMap((entry) => [
    entry.code,
    entry.color,
  ]);
}

/**
 * The DLBM attribute as a 4-digit code string. A numeric DLBM (a shapefile's numeric
 * field, 101 for '0101') gets its leading zero back.
 */
function dlbmCodeExpression(field: string): ExpressionValue[] {
  const value: ExpressionValue[] = ['get', field];
  return [
    'case',
    ['all', ['==', ['typeof', value], 'number'], ['<', ['to-number', value], 1000]],
    ['concat', '0', ['to-string', value]],
    ['to-string', value],
  ];
}

/**
 * fill-color expression for polygons coloured by `field` (DLBM): first the 4-digit code
 * (so a 三调 suffixed code such as '0201K' takes its class colour), then the 2-digit
 * first-level class, then the default.
 */
export function landUseColorExpression(field = 'DLBM'): ExpressionValue[] {
  const code: ExpressionValue[] = ['var', 'code'];
  return [
    'let',
    'code',
    dlbmCodeExpression(field),
    [
      'match',
      ['slice', code, 0, 4],
      ...matchArms(4),
      ['match', ['slice', code, 0, 2], ...matchArms(2), LANDUSE_DEFAULT_COLOR],
    ],
  ];
}

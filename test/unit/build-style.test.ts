import {
  createExpression,
  latest,
  validateStyleMin,
  type StylePropertySpecification,
  type StyleSpecification,
} from '@maplibre/maplibre-gl-style-spec';
import { describe, expect, it } from 'vitest';
import type { LayerInfo, VersionMeta } from '../../src/domain/catalog.js';
import {
  buildStyle,
  LANDUSE_DEFAULT_COLOR,
  LANDUSE_PALETTE,
  type ExpressionValue,
  type PlantilesStyle,
} from '../../src/server/style/build-style.js';

const BASE = 'http://127.0.0.1:8080';

function meta(kind: VersionMeta['geometryKind'], bounds: VersionMeta['bounds']): VersionMeta {
  return {
    minzoom: 4,
    maxzoom: 14,
    bounds,
    center: [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 8],
    geometryKind: kind,
    vectorLayer: `vl-${kind}`,
    fields: { BSM: 'String', DLBM: 'String' },
    featureCount: 10,
  };
}

function layer(id: string, kind: VersionMeta['geometryKind'] | null, extra: Partial<LayerInfo> = {}): LayerInfo {
  return {
    id,
    title: `标题 ${id}`,
    attribution: '合成数据 synthetic',
    style: { color: '#d04040', fillOpacity: 0.4, lineWidth: 1.5 },
    current: kind === null ? null : '1.0.0',
    currentMeta: kind === null ? null : meta(kind, [115.5, 36.0, 116.5, 37.0]),
    versions: [],
    ...extra,
  };
}

const farmland = layer('farmland', 'polygon', {
  title: '耕地图斑',
  style: { color: '#c8b400', fillOpacity: 0.7, lineWidth: 0.5, colorBy: 'DLBM' },
  currentMeta: meta('polygon', [115.2, 35.8, 116.6, 37.1]),
});
const ubound = layer('ubound', 'polygon', {
  title: '城镇开发边界',
  style: { color: '#e03030', fillOpacity: 0.1, lineWidth: 2, dashed: true },
});
const projects = layer('projects', 'line', { title: '重大项目选线' });
const wells = layer('wells', 'point', { title: '监测点' });
const pending = layer('pending', null, { title: '未发布' });

function build(layers: LayerInfo[] = [ubound, projects, pending, farmland, wells]): PlantilesStyle {
  return buildStyle({ nodeTitle: '聊城市国土空间规划一张图（合成数据）', baseUrl: `${BASE}/`, layers });
}

function styleLayer(style: PlantilesStyle, id: string) {
  const found = style.layers.find((l) => l.id === id);
  expect(found, `style layer ${id}`).toBeDefined();
  return found!;
}

/** The labels of a `match` expression ([match, input, l1, o1, l2, o2, …, fallback]). */
function matchLabels(expr: ExpressionValue): string[] {
  expect(Array.isArray(expr) && expr[0] === 'match').toBe(true);
  const arms = (expr as ExpressionValue[]).slice(2, -1);
  return arms.filter((_, i) => i % 2 === 0).map(String);
}

describe('buildStyle', () => {
  it('has one vector source per published layer, pointing at its absolute TileJSON URL', () => {
    const style = build();
    expect(style.version).toBe(8);
    expect(style.name).toContain('合成');
    expect(style.sources).toEqual({
      ubound: { type: 'vector', url: `${BASE}/tiles/ubound.json` },
      projects: { type: 'vector', url: `${BASE}/tiles/projects.json` },
      farmland: { type: 'vector', url: `${BASE}/tiles/farmland.json` },
      wells: { type: 'vector', url: `${BASE}/tiles/wells.json` },
    });
  });

  it('fills only polygons, so lines sharing a polygon layer are drawn by its outline, not filled', () => {
    const style = build();
    for (const l of style.layers.filter((x) => x.type === 'fill')) {
      expect(l.filter).toEqual(['==', ['geometry-type'], 'Polygon']);
    }
    expect(styleLayer(style, 'ubound-outline').filter).toBeUndefined();
  });

  it('leaves out unpublished layers entirely', () => {
    const style = build();
    expect(style.sources).not.toHaveProperty('pending');
    expect(style.layers.filter((l) => l.source === 'pending' || l.id.startsWith('pending'))).toEqual([]);
  });

  it('orders background, fills, outlines, lines, points; ids, types and source-layers per kind', () => {
    const style = build();
    expect(style.layers.map((l) => [l.id, l.type])).toEqual([
      ['background', 'background'],
      ['ubound-fill', 'fill'],
      ['farmland-fill', 'fill'],
      ['ubound-outline', 'line'],
      ['farmland-outline', 'line'],
      ['projects-line', 'line'],
      ['wells-circle', 'circle'],
    ]);
    for (const l of style.layers.slice(1)) {
      expect(l.source).toBe(l.metadata?.['plantiles:layer']);
      expect(l['source-layer']).toMatch(/^vl-(polygon|line|point)$/);
    }
    expect(styleLayer(style, 'projects-line')['source-layer']).toBe('vl-line');
    expect(styleLayer(style, 'wells-circle')['source-layer']).toBe('vl-point');
    expect(styleLayer(style, 'background').source).toBeUndefined();
  });

  it('puts the layer id and title in each data layer’s metadata and the legend on the style', () => {
    const style = build();
    expect(styleLayer(style, 'farmland-outline').metadata).toEqual({
      'plantiles:layer': 'farmland',
      'plantiles:title': '耕地图斑',
    });
    expect(styleLayer(style, 'farmland-fill').metadata).toMatchObject({ 'plantiles:colorBy': 'DLBM' });
    expect(style.metadata['plantiles:legend']).toEqual(LANDUSE_PALETTE);
    expect(JSON.parse(JSON.stringify(style.metadata['plantiles:legend']))).toEqual(LANDUSE_PALETTE);
  });

  it('styles from LayerStyle: colour, opacity, width, dashes', () => {
    const style = build();
    expect(styleLayer(style, 'ubound-fill').paint).toEqual({ 'fill-color': '#e03030', 'fill-opacity': 0.1 });
    expect(styleLayer(style, 'ubound-outline').paint).toEqual({
      'line-color': '#e03030',
      'line-width': 2,
      'line-dasharray': [4, 2],
    });
    expect(styleLayer(style, 'projects-line').paint).not.toHaveProperty('line-dasharray');
    expect(styleLayer(style, 'wells-circle').paint['circle-color']).toBe('#d04040');
  });

  it('colours DLBM polygons with a match that covers every palette code', () => {
    const fill = styleLayer(build(), 'farmland-fill').paint['fill-color'];
    const letExpr = fill as ExpressionValue[];
    expect(letExpr.slice(0, 2)).toEqual(['let', 'code']);
    const outer = letExpr[3] as ExpressionValue[];
    const fourDigit = matchLabels(outer);
    const inner = outer[outer.length - 1]!;
    const twoDigit = matchLabels(inner);
    expect(outer[1]).toEqual(['slice', ['var', 'code'], 0, 4]);
    expect((inner as ExpressionValue[])[1]).toEqual(['slice', ['var', 'code'], 0, 2]);
    expect((inner as ExpressionValue[]).at(-1)).toBe(LANDUSE_DEFAULT_COLOR);
    expect([...fourDigit, ...twoDigit].sort()).toEqual(LANDUSE_PALETTE.map((c) => c.code).sort());
    for (const code of ['0101', '0102', '0103', '0201', '0202', '0301', '0305', '0401', '0404', '1101', '1104']) {
      expect(fourDigit).toContain(code);
    }
    for (const code of ['05', '06', '07', '08', '09', '10', '11', '12']) expect(twoDigit).toContain(code);
  });

  it('evaluates DLBM colours: 4-digit code, 三调 suffix, first-level class, default', () => {
    const fill = styleLayer(build(), 'farmland-fill').paint['fill-color'];
    const spec = latest.paint_fill['fill-color'] as StylePropertySpecification;
    const parsed = createExpression(fill, 'fill-color', spec);
    if (parsed.result !== 'success') throw new Error(JSON.stringify(parsed.value));
    const colorOf = (properties: Record<string, unknown>): string => {
      const color: unknown = parsed.value.evaluate({ zoom: 10 }, { type: 3, properties });
      return String(color);
    };
    const rgba = (hex: string): string => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      return `rgba(${r},${g},${b},1)`;
    };
    const rgb = (code: string): string => rgba(LANDUSE_PALETTE.find((c) => c.code === code)?.color ?? '#000000');
    for (const entry of LANDUSE_PALETTE) expect(colorOf({ DLBM: entry.code })).toBe(rgb(entry.code));
    expect(colorOf({ DLBM: '0201K' })).toBe(colorOf({ DLBM: '0201' }));
    expect(colorOf({ DLBM: '0508' })).toBe(colorOf({ DLBM: '05' }));
    expect(colorOf({ DLBM: '0101' })).not.toBe(colorOf({ DLBM: '0102' }));
    expect(colorOf({ DLBM: '9999' })).toBe(colorOf({}));
    expect(colorOf({})).toBe(rgba(LANDUSE_DEFAULT_COLOR));
    expect(colorOf({ DLBM: 101 })).toBe(rgb('0101'));
    expect(colorOf({ DLBM: 1104 })).toBe(rgb('1104'));
  });

  it('has a palette of unique codes with names and hex colours', () => {
    const codes = LANDUSE_PALETTE.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of LANDUSE_PALETTE) {
      expect(c.code).toMatch(/^\d{2}(\d{2})?$/);
      expect(c.name.length).toBeGreaterThan(0);
      expect(c.color).toMatch(/^#[0-9a-f]{6}$/);
    }
    expect(LANDUSE_PALETTE.find((c) => c.code === '0101')?.name).toBe('水田');
  });

  it('is deterministic: the same input gives the same JSON', () => {
    expect(JSON.stringify(build())).toBe(JSON.stringify(build()));
    const copy = structuredClone([ubound, projects, pending, farmland, wells]);
    expect(JSON.stringify(build(copy))).toBe(JSON.stringify(build()));
  });

  it('gives a centre and zoom covering the published layers, and none when nothing is published', () => {
    const style = build();
    expect(style.center).toEqual([115.9, 36.45]);
    expect(style.zoom).toBeGreaterThanOrEqual(6);
    const empty = build([pending]);
    expect(empty.sources).toEqual({});
    expect(empty.layers.map((l) => l.id)).toEqual(['background']);
    expect(empty.center).toBeUndefined();
  });

  it('passes the MapLibre style-spec validator', () => {
    for (const style of [build(), build([pending])]) {
      const json = JSON.parse(JSON.stringify(style)) as StyleSpecification;
      const errors = validateStyleMin(json).map((e) => e.message);
      expect(errors).toEqual([]);
    }
  });
});

/**
 * style.json: a MapLibre style v8 drawing every published layer from its TileJSON.
 * The server has no internet and no fonts, so there is no basemap, sprite, glyphs or
 * symbol layer: a plain background, fills, lines and circles only.
 */
import type { LayerInfo, LayerStyle, VersionMeta } from '../../domain/catalog.js';
import {
  LANDUSE_DEFAULT_COLOR,
  LANDUSE_PALETTE,
  landUseColorExpression,
  type ExpressionValue,
} from './landuse-palette.js';

export { LANDUSE_DEFAULT_COLOR, LANDUSE_PALETTE, landUseColorExpression };
export type { ExpressionValue, LandUseClass } from './landuse-palette.js';

/** Style metadata key holding the land-use legend (the palette) on the style. */
export const LEGEND_METADATA_KEY = 'plantiles:legend';
/** Style-layer metadata key naming the catalog layer a style layer draws. */
export const LAYER_METADATA_KEY = 'plantiles:layer';
/** Style-layer metadata key holding the catalog layer's title. */
export const TITLE_METADATA_KEY = 'plantiles:title';

/** Background colour: a light paper tone that every palette colour reads against. */
export const BACKGROUND_COLOR = '#f3f1ec';

/** Vector source of one layer: its current TileJSON. */
export interface VectorSourceSpec {
  type: 'vector';
  url: string;
}

/** One style layer as written to style.json (the subset of the spec plantiles emits). */
export interface StyleLayerSpec {
  id: string;
  type: 'background' | 'fill' | 'line' | 'circle';
  source?: string;
  'source-layer'?: string;
  metadata?: Record<string, string>;
  filter?: ExpressionValue;
  layout?: Record<string, ExpressionValue>;
  paint: Record<string, ExpressionValue>;
}

/** The style document (MapLibre style specification v8). */
export interface PlantilesStyle {
  version: 8;
  name: string;
  metadata: Record<string, unknown>;
  center?: [number, number];
  zoom?: number;
  sources: Record<string, VectorSourceSpec>;
  layers: StyleLayerSpec[];
}

/** What buildStyle needs: the node's title, the absolute base URL and the catalog's layers. */
export interface BuildStyleInput {
  nodeTitle: string;
  /** Absolute, e.g. `http://127.0.0.1:8080`; a trailing slash is ignored. */
  baseUrl: string;
  layers: LayerInfo[];
}

/** A layer with a current version, narrowed. */
interface PublishedLayer {
  info: LayerInfo;
  meta: VersionMeta;
}

const DASH: ExpressionValue[] = [4, 2];

/** MapLibre style v8 with every published layer; sources point at the layers' TileJSON URLs. */
export function buildStyle(input: BuildStyleInput): PlantilesStyle {
  const baseUrl = input.baseUrl.replace(/\/+$/, '');
  const published = publishedLayers(input.layers);
  const sources: Record<string, VectorSourceSpec> = {};
  for (const { info } of published) {
    sources[info.id] = { type: 'vector', url: `${baseUrl}/tiles/${encodeURIComponent(info.id)}.json` };
  }
  const style: PlantilesStyle = {
    version: 8,
    name: input.nodeTitle,
    metadata: { [LEGEND_METADATA_KEY]: LANDUSE_PALETTE, 'plantiles:legendDefault': LANDUSE_DEFAULT_COLOR },
    sources,
    layers: [backgroundLayer(), ...orderedStyleLayers(published)],
  };
  const view = initialView(published);
  if (view !== null) {
    style.center = view.center;
    style.zoom = view.zoom;
  }
  return style;
}

/** Layers with a current version, first occurrence of each id, in input order. */
function publishedLayers(layers: LayerInfo[]): PublishedLayer[] {
  const seen = new Set<string>();
  const out: PublishedLayer[] = [];
  for (const info of layers) {
    if (info.current === null || info.currentMeta === null || seen.has(info.id)) continue;
    seen.add(info.id);
    out.push({ info, meta: info.currentMeta });
  }
  return out;
}

/**
 * Draw order, bottom to top: polygon fills (input order, so large-extent layers listed
 * first sit lowest), then polygon outlines (control-line boundaries stay visible above
 * every fill), then lines, then points.
 */
function orderedStyleLayers(published: PublishedLayer[]): StyleLayerSpec[] {
  const ofKind = (kind: VersionMeta['geometryKind']): PublishedLayer[] =>
    published.filter((layer) => layer.meta.geometryKind === kind);
  const polygons = ofKind('polygon');
  return [
    ...polygons.map(fillLayer),
    ...polygons.map((layer) => lineLayer(layer, `${layer.info.id}-outline`)),
    ...ofKind('line').map((layer) => lineLayer(layer, `${layer.info.id}-line`)),
    ...ofKind('point').map(circleLayer),
  ];
}

function backgroundLayer(): StyleLayerSpec {
  return { id: 'background', type: 'background', paint: { 'background-color': BACKGROUND_COLOR } };
}

/** The part every data layer shares: source, source-layer, metadata. */
function dataLayerBase(layer: PublishedLayer): Pick<StyleLayerSpec, 'source' | 'source-layer' | 'metadata'> {
  return {
    source: layer.info.id,
    'source-layer': layer.meta.vectorLayer,
    metadata: { [LAYER_METADATA_KEY]: layer.info.id, [TITLE_METADATA_KEY]: layer.info.title },
  };
}

function fillLayer(layer: PublishedLayer): StyleLayerSpec {
  const style = layer.info.style;
  const color: ExpressionValue = style.colorBy === 'DLBM' ? landUseColorExpression('DLBM') : style.color;
  const base = dataLayerBase(layer);
  return {
    id: `${layer.info.id}-fill`,
    type: 'fill',
    ...base,
    metadata: style.colorBy === undefined ? base.metadata : { ...base.metadata, 'plantiles:colorBy': style.colorBy },
    // A layer may mix polygons and lines (protection lines); MapLibre would fill a line as a ring.
    filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': color, 'fill-opacity': clamp(style.fillOpacity, 0, 1) },
  };
}

function lineLayer(layer: PublishedLayer, id: string): StyleLayerSpec {
  const style: LayerStyle = layer.info.style;
  const paint: Record<string, ExpressionValue> = {
    'line-color': style.color,
    'line-width': Math.max(0, style.lineWidth),
  };
  if (style.dashed === true) paint['line-dasharray'] = DASH;
  return {
    id,
    type: 'line',
    ...dataLayerBase(layer),
    layout: { 'line-join': 'round', 'line-cap': style.dashed === true ? 'butt' : 'round' },
    paint,
  };
}

function circleLayer(layer: PublishedLayer): StyleLayerSpec {
  const style = layer.info.style;
  return {
    id: `${layer.info.id}-circle`,
    type: 'circle',
    ...dataLayerBase(layer),
    paint: {
      'circle-color': style.color,
      'circle-radius': Math.max(3, style.lineWidth * 2),
      'circle-opacity': clamp(style.fillOpacity, 0, 1),
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1,
    },
  };
}

/** Centre and zoom that show the union of the published layers' bounds, for plain clients. */
function initialView(published: PublishedLayer[]): { center: [number, number]; zoom: number } | null {
  const first = published[0];
  if (first === undefined) return null;
  let [west, south, east, north] = first.meta.bounds;
  for (const { meta } of published) {
    west = Math.min(west, meta.bounds[0]);
    south = Math.min(south, meta.bounds[1]);
    east = Math.max(east, meta.bounds[2]);
    north = Math.max(north, meta.bounds[3]);
  }
  const span = Math.max(east - west, north - south, 1e-6);
  return {
    center: [round6((west + east) / 2), round6((south + north) / 2)],
    zoom: clamp(Math.floor(Math.log2(360 / span)) + 1, 0, 16),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

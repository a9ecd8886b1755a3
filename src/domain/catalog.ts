/** Types shared by the store, the server and the viewer: what the catalog says about layers. */

/** MVT attribute types as TileJSON's vector_layers names them. */
export type FieldType = 'String' | 'Number' | 'Boolean';

/** Geometry kind of a layer's features, for styling. */
export type GeometryKind = 'polygon' | 'line' | 'point';

/** How the viewer and style.json draw a layer (from the layer's config). */
export interface LayerStyle {
  /** Fill or line colour, CSS hex. */
  color: string;
  /** Fill opacity for polygons, 0–1. */
  fillOpacity: number;
  /** Line width in pixels (outlines and lines). */
  lineWidth: number;
  /** Colour polygons by a land-use code attribute (DLBM) instead of `color`. */
  colorBy?: 'DLBM';
  /** Dashed lines (control lines such as boundaries). */
  dashed?: boolean;
}

/** Everything a published version records about its tiles. */
export interface VersionMeta {
  minzoom: number;
  maxzoom: number;
  /** [west, south, east, north] in WGS 84. */
  bounds: [number, number, number, number];
  /** [lon, lat, zoom]. */
  center: [number, number, number];
  geometryKind: GeometryKind;
  /** MVT layer name inside each tile (the layer id). */
  vectorLayer: string;
  fields: Record<string, FieldType>;
  featureCount: number;
}

/** One version of a layer as listed in the catalog. */
export interface VersionInfo {
  version: string;
  publishedAt: string;
  tiles: number;
  bytes: number;
  /** live versions serve; pruned ones answer 410. */
  state: 'live' | 'pruned';
}

/** One layer with its current version (null until first published). */
export interface LayerInfo {
  id: string;
  title: string;
  attribution: string;
  style: LayerStyle;
  current: string | null;
  currentMeta: VersionMeta | null;
  versions: VersionInfo[];
}

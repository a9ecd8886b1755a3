import type { LayerRecord, VersionRecord } from '../tile-store.js';

/** What both export formats record about the version: TileJSON-like metadata with vector_layers. */
export interface ExportMetadata {
  name: string;
  description: string;
  attribution: string;
  version: string;
  type: 'overlay';
  vector_layers: { id: string; description: string; minzoom: number; maxzoom: number; fields: Record<string, string> }[];
  /**
   * mapbox-geostats' summary (as tippecanoe writes it, MBTiles 1.3 allows it in `json`): the
   * layer's geometry type, which GDAL reports for the layer instead of "Unknown (any)", its
   * feature count and its attributes' types.
   */
  tilestats: {
    layerCount: number;
    layers: { layer: string; count: number; geometry: 'Polygon' | 'LineString' | 'Point'; attributeCount: number; attributes: { attribute: string; type: string }[] }[];
  };
}

const GEOSTATS_GEOMETRY = { polygon: 'Polygon', line: 'LineString', point: 'Point' } as const;

/** The metadata of one version of a layer. */
export function exportMetadata(layer: LayerRecord, version: VersionRecord): ExportMetadata {
  const m = version.meta;
  return {
    name: layer.title,
    description: `${layer.title} (${layer.id}) version ${version.version}, published ${version.publishedAt}`,
    attribution: layer.attribution,
    version: version.version,
    type: 'overlay',
    vector_layers: [{ id: m.vectorLayer, description: layer.title, minzoom: m.minzoom, maxzoom: m.maxzoom, fields: m.fields }],
    tilestats: {
      layerCount: 1,
      layers: [{
        layer: m.vectorLayer, count: m.featureCount, geometry: GEOSTATS_GEOMETRY[m.geometryKind],
        attributeCount: Object.keys(m.fields).length,
        attributes: Object.entries(m.fields).map(([attribute, type]) => ({ attribute, type: type.toLowerCase() })),
      }],
    },
  };
}

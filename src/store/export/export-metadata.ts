import type { LayerRecord, VersionRecord } from '../tile-store.js';

/** What both export formats record about the version: TileJSON-like metadata with vector_layers. */
export interface ExportMetadata {
  name: string;
  description: string;
  attribution: string;
  version: string;
  type: 'overlay';
  vector_layers: { id: string; description: string; minzoom: number; maxzoom: number; fields: Record<string, string> }[];
}

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
  };
}

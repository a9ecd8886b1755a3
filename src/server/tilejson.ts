import type { LayerRecord, VersionRecord } from '../store/tile-store.js';

/** TileJSON 3.0.0 of one version; `tiles` always names the versioned URL so caches never mix versions. */
export function buildTileJson(baseUrl: string, layer: LayerRecord, version: VersionRecord): Record<string, unknown> {
  const m = version.meta;
  return {
    tilejson: '3.0.0',
    name: layer.title,
    description: `${layer.title} (${layer.id}) version ${version.version}`,
    version: version.version,
    attribution: layer.attribution,
    scheme: 'xyz',
    tiles: [`${baseUrl}/tiles/${layer.id}@${version.version}/{z}/{x}/{y}.mvt`],
    minzoom: m.minzoom,
    maxzoom: m.maxzoom,
    bounds: m.bounds,
    center: m.center,
    vector_layers: [
      { id: m.vectorLayer, description: layer.title, minzoom: m.minzoom, maxzoom: m.maxzoom, fields: m.fields },
    ],
    'plantiles:geometry': m.geometryKind,
    'plantiles:published': version.publishedAt,
    'plantiles:features': m.featureCount,
  };
}

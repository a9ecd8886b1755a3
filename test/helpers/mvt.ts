import { VectorTile, type VectorTileFeature } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

/** A decoded feature: id, properties and geometry in tile coordinates. */
export interface DecodedFeature {
  id: number | undefined;
  type: number;
  properties: Record<string, string | number | boolean>;
  geometry: { x: number; y: number }[][];
}

/** Decodes plain MVT bytes with @mapbox/vector-tile (an independent decoder). */
export function decodeTile(bytes: Uint8Array): Record<string, { extent: number; features: DecodedFeature[] }> {
  const tile = new VectorTile(new PbfReader(bytes));
  const out: Record<string, { extent: number; features: DecodedFeature[] }> = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    const features: DecodedFeature[] = [];
    for (let i = 0; i < layer.length; i++) {
      const f: VectorTileFeature = layer.feature(i);
      features.push({
        id: f.id,
        type: f.type,
        properties: f.properties as Record<string, string | number | boolean>,
        geometry: f.loadGeometry().map((ring) => ring.map((p) => ({ x: p.x, y: p.y }))),
      });
    }
    out[name] = { extent: layer.extent, features };
  }
  return out;
}

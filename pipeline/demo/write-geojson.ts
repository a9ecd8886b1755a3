// GeoJSON output for the demo's lon/lat layers: RFC 7946 windings (outer
// rings counter-clockwise, holes clockwise), 7 decimals (~1 cm), no `crs`
// member, one feature per line so diffs stay readable.
import type { Feature, Geometry, GeoJsonProperties } from 'geojson';
import { orientRing, type PolygonRings, type Position } from './geo.js';

/** A demo feature before serialisation; rings may have any winding. */
export interface DemoGeoFeature {
  geometry:
    | { type: 'Polygon'; rings: PolygonRings }
    | { type: 'MultiPolygon'; polygons: PolygonRings[] }
    | { type: 'LineString'; line: Position[] };
  properties: Record<string, string | number>;
}

/** Serialises features as a GeoJSON FeatureCollection text. */
export function encodeFeatureCollection(features: readonly DemoGeoFeature[]): string {
  const lines = features.map((f) => {
    const feature: Feature<Geometry, GeoJsonProperties> = { type: 'Feature', properties: f.properties, geometry: toGeometry(f.geometry) };
    return JSON.stringify(feature);
  });
  return `{"type":"FeatureCollection","features":[\n${lines.join(',\n')}\n]}\n`;
}

function toGeometry(geometry: DemoGeoFeature['geometry']): Geometry {
  switch (geometry.type) {
    case 'Polygon':
      return { type: 'Polygon', coordinates: toRfcRings(geometry.rings) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: geometry.polygons.map(toRfcRings) };
    case 'LineString':
      return { type: 'LineString', coordinates: geometry.line.map(roundPosition) };
  }
}

function toRfcRings(rings: PolygonRings): Position[][] {
  return rings.map((ring, i) => orientRing(ring.map(roundPosition), i !== 0));
}

function roundPosition(p: Position): Position {
  return [Math.round(p[0] * 1e7) / 1e7, Math.round(p[1] * 1e7) / 1e7];
}

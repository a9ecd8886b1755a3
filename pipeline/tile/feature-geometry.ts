import type { Geometry, Position } from 'geojson';

/** Geometry types as the feature table stores them. */
export const GeometryCode = { Point: 1, MultiPoint: 2, LineString: 3, MultiLineString: 4, Polygon: 5, MultiPolygon: 6 } as const;
/** One of the GeometryCode values. */
export type GeometryCode = (typeof GeometryCode)[keyof typeof GeometryCode];

/** A geometry as parts → rings → positions, with its type code. */
export interface GeometryParts {
  code: GeometryCode;
  parts: Position[][][];
}

/** Normalises a GeoJSON geometry (ingest has refused collections and empty geometries). */
export function geometryOf(g: Geometry): GeometryParts {
  switch (g.type) {
    case 'Point': return { code: GeometryCode.Point, parts: [[[g.coordinates]]] };
    case 'MultiPoint': return { code: GeometryCode.MultiPoint, parts: [[g.coordinates]] };
    case 'LineString': return { code: GeometryCode.LineString, parts: [[g.coordinates]] };
    case 'MultiLineString': return { code: GeometryCode.MultiLineString, parts: [g.coordinates] };
    case 'Polygon': return { code: GeometryCode.Polygon, parts: [g.coordinates] };
    case 'MultiPolygon': return { code: GeometryCode.MultiPolygon, parts: g.coordinates };
    case 'GeometryCollection': throw new TypeError('a GeometryCollection cannot be tiled');
  }
}

import type { Geometry, Position } from 'geojson';
import proj4 from 'proj4';
import { normaliseCrsName, registerCrsDefinitions } from './crs-registry.js';

/** A CRS that cannot be used; the caller adds the file name. */
export class CrsError extends Error {
  override readonly name = 'CrsError';
}

/** Converts one [x, y] of the source CRS into [lon, lat] (WGS 84). */
export type PointTransform = (p: Position) => Position;

/** Builds the transform from a CRS given as an EPSG name or a WKT string (.prj). */
export function createTransform(crs: string): PointTransform {
  registerCrsDefinitions();
  const name = normaliseCrsName(crs);
  let converter: proj4.Converter;
  try {
    if (name) {
      if (!proj4.defs(name)) throw new CrsError(`unknown CRS ${name}`);
      if (name === 'EPSG:4326' || name === 'EPSG:4490') return (p) => [p[0] ?? NaN, p[1] ?? NaN];
      converter = proj4(name, 'EPSG:4326');
    } else if (/^\s*(PROJCS|GEOGCS|PROJCRS|GEOGCRS|GEODCRS)\b/i.test(crs)) {
      converter = proj4(crs, 'EPSG:4326');
    } else {
      throw new CrsError(`unrecognised CRS "${crs.slice(0, 60)}"`);
    }
  } catch (err) {
    if (err instanceof CrsError) throw err;
    throw new CrsError(`cannot use CRS "${crs.slice(0, 60)}": ${(err as Error).message}`);
  }
  return (p) => converter.forward([p[0] ?? NaN, p[1] ?? NaN]);
}

/** Applies a point transform to every position of a geometry (a new geometry). */
export function reprojectGeometry(g: Geometry, t: PointTransform): Geometry {
  switch (g.type) {
    case 'Point': return { type: 'Point', coordinates: t(g.coordinates) };
    case 'MultiPoint': return { type: 'MultiPoint', coordinates: g.coordinates.map(t) };
    case 'LineString': return { type: 'LineString', coordinates: g.coordinates.map(t) };
    case 'MultiLineString': return { type: 'MultiLineString', coordinates: g.coordinates.map((l) => l.map(t)) };
    case 'Polygon': return { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(t)) };
    case 'MultiPolygon': return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(t))) };
    case 'GeometryCollection': return { type: 'GeometryCollection', geometries: g.geometries.map((c) => reprojectGeometry(c, t)) };
  }
}

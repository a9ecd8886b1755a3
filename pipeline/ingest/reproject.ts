import type { Geometry, Position } from 'geojson';
import type proj4 from 'proj4';
import { loadProj4 } from './load-proj4.js';
import { CrsError, WGS84_LONLAT, type ResolvedCrs } from './resolve-crs.js';

/** Converts one [x, y] of the source CRS into [lon, lat] (WGS 84); Z and M are dropped. */
export type PointTransform = (p: Position) => Position;

/** Builds the transform of a resolved CRS to WGS 84 lon/lat. */
export function createTransform(crs: ResolvedCrs): PointTransform {
  // Positions are fresh from the reader, so a 2D one can be passed on as it is.
  if (crs.proj4 === 'identity') return (p) => (p.length === 2 ? p : [p[0] ?? NaN, p[1] ?? NaN]);
  let converter: proj4.Converter;
  try {
    converter = loadProj4()(crs.proj4, WGS84_LONLAT);
  } catch (err) {
    throw new CrsError(`cannot use CRS ${crs.label}: ${(err as Error).message}`);
  }
  return (p) => {
    const x = p[0] ?? NaN;
    const y = p[1] ?? NaN;
    // proj4 throws or returns nothing for points outside a projection's domain; the validator reports them.
    if (!Number.isFinite(x) || !Number.isFinite(y)) return [x, y];
    try {
      const out = converter.forward([x, y]);
      return [out[0] ?? NaN, out[1] ?? NaN];
    } catch {
      return [NaN, NaN];
    }
  };
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

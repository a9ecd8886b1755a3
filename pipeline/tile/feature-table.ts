import type { Feature, Geometry, Position } from 'geojson';
import type { PropertyValue } from '../ingest/source-feature.js';
import { GeometryCode } from './feature-geometry.js';
import { FeaturePacker } from './feature-packer.js';

/**
 * A layer's features packed into shared typed arrays, so tiling workers read them
 * without copies. Every geometry is parts → rings → coordinates: a Polygon is one
 * part of rings, a MultiPolygon several, a line one part of one ring, a point one
 * ring of one coordinate. Positions stay in WGS 84 lon/lat, exactly as ingested.
 */
export interface FeatureTable {
  count: number;
  /** MVT id of each feature. */
  ids: Float64Array;
  kinds: Uint8Array;
  /** Feature i's parts are featureParts[i]..featureParts[i+1]-1. */
  featureParts: Int32Array;
  /** Part p's rings are partRings[p]..partRings[p+1]-1. */
  partRings: Int32Array;
  /** Ring r's positions are ringCoords[r]..ringCoords[r+1]-1 (position k is coords[2k], coords[2k+1]). */
  ringCoords: Int32Array;
  coords: Float64Array;
  /** minX, minY, maxX, maxY of each feature in web-mercator world units (0..1, y down). */
  bbox: Float64Array;
  /** x, y of each feature's first position in world units: a point on the feature, naming the tile that owns it. */
  anchors: Float64Array;
  /** Size of each feature in world units: polygon area (sum of exteriors), line length; 0 for points. */
  size: Float64Array;
  /** The largest single exterior ring area (polygons) or line length (lines); Infinity for points. */
  keepSize: Float64Array;
  /** 64-bit fingerprint of each feature (id, geometry, properties) as two 32-bit words. */
  hashes: Uint32Array;
  /** UTF-8 JSON of each feature's properties; feature i's bytes are propStart[i]..propStart[i+1]-1. */
  props: Uint8Array;
  propStart: Int32Array;
}

/** A feature as ingest hands it over. */
export type SourceFeatureLike = Feature<Geometry, Record<string, PropertyValue>>;

/** Packs ingested features (in source order) into a FeatureTable backed by SharedArrayBuffers. */
export function packFeatures(features: Iterable<SourceFeatureLike>): FeatureTable {
  const packer = new FeaturePacker();
  for (const f of features) packer.add(f);
  return packer.finish();
}

/** The properties of feature i, parsed from the table. */
export function propertiesOf(table: FeatureTable, i: number): Record<string, PropertyValue> {
  const start = table.propStart[i] ?? 0;
  const end = table.propStart[i + 1] ?? start;
  return JSON.parse(Buffer.from(table.props.buffer, table.props.byteOffset + start, end - start).toString('utf8')) as Record<string, PropertyValue>;
}

/** Feature i as GeoJSON for geojson-vt: its id is the table index, its properties are left out (added at encoding). */
export function toGeojson(table: FeatureTable, i: number): Feature<Geometry, null> {
  const parts: Position[][][] = [];
  for (let p = table.featureParts[i] ?? 0; p < (table.featureParts[i + 1] ?? 0); p++) {
    const rings: Position[][] = [];
    for (let r = table.partRings[p] ?? 0; r < (table.partRings[p + 1] ?? 0); r++) {
      const ring: Position[] = [];
      for (let k = table.ringCoords[r] ?? 0; k < (table.ringCoords[r + 1] ?? 0); k++) ring.push([table.coords[2 * k] as number, table.coords[2 * k + 1] as number]);
      rings.push(ring);
    }
    parts.push(rings);
  }
  return { type: 'Feature', id: i, properties: null, geometry: buildGeometry(table.kinds[i] as GeometryCode, parts) };
}

/** The first position of feature i in world units: a point on the feature, used to name the tile that owns it. */
export function anchorOf(table: FeatureTable, i: number): [number, number] {
  return [table.anchors[2 * i] as number, table.anchors[2 * i + 1] as number];
}

function buildGeometry(kind: GeometryCode, parts: Position[][][]): Geometry {
  const first = parts[0] ?? [];
  switch (kind) {
    case GeometryCode.Point: return { type: 'Point', coordinates: first[0]?.[0] ?? [] };
    case GeometryCode.MultiPoint: return { type: 'MultiPoint', coordinates: first[0] ?? [] };
    case GeometryCode.LineString: return { type: 'LineString', coordinates: first[0] ?? [] };
    case GeometryCode.MultiLineString: return { type: 'MultiLineString', coordinates: first };
    case GeometryCode.Polygon: return { type: 'Polygon', coordinates: first };
    case GeometryCode.MultiPolygon: return { type: 'MultiPolygon', coordinates: parts };
  }
}

// A minimal ESRI Shapefile writer (Polygon and PolyLine, 2D) — the npm
// `shapefile` package only reads. Layout per the ESRI Shapefile Technical
// Description (1998): big-endian file code/length/record headers, everything
// else little-endian, lengths in 16-bit words.
import { writeFile } from 'node:fs/promises';
import { encodeDbf, type DbfField, type DbfRecord } from './write-dbf.js';
import { orientRing, type PolygonRings, type Position } from './geo.js';

/** A polygon feature: one or more polygons (outer ring, then holes), any winding. */
export interface PolygonFeature {
  polygons: readonly PolygonRings[];
  properties: DbfRecord;
}

/** A polyline feature: one or more parts. */
export interface LineFeature {
  lines: readonly Position[][];
  properties: DbfRecord;
}

/** Everything needed to write one shapefile layer. */
export type ShapefileLayer =
  | { shapeType: 'Polygon'; fields: readonly DbfField[]; features: readonly PolygonFeature[] }
  | { shapeType: 'PolyLine'; fields: readonly DbfField[]; features: readonly LineFeature[] };

/** Side files written next to the .shp. */
export interface ShapefileExtras {
  /** Contents of the .prj (WKT). */
  prj: string;
  /** Contents of the .cpg; must match the DBF text encoding. */
  cpg: string;
}

const SHAPE_TYPE_CODE = { PolyLine: 3, Polygon: 5 } as const;
const FILE_HEADER_BYTES = 100;
const RECORD_HEADER_BYTES = 8;

/** Writes base.shp/.shx/.dbf/.prj/.cpg and returns the five paths. */
export async function writeShapefile(basePath: string, layer: ShapefileLayer, extras: ShapefileExtras): Promise<string[]> {
  const { shp, shx, dbf } = encodeShapefile(layer);
  const files: [string, Buffer | string][] = [
    [`${basePath}.shp`, shp],
    [`${basePath}.shx`, shx],
    [`${basePath}.dbf`, dbf],
    [`${basePath}.prj`, extras.prj],
    [`${basePath}.cpg`, extras.cpg],
  ];
  for (const [path, content] of files) await writeFile(path, content);
  return files.map(([path]) => path);
}

/** Encodes a layer as .shp, .shx and .dbf buffers, rewinding polygon rings the ESRI way. */
export function encodeShapefile(layer: ShapefileLayer): { shp: Buffer; shx: Buffer; dbf: Buffer } {
  const partsPerFeature =
    layer.shapeType === 'Polygon' ? layer.features.map((f) => toEsriRings(f.polygons)) : layer.features.map((f) => f.lines);
  const { shp, shx } = encodeShp(SHAPE_TYPE_CODE[layer.shapeType], partsPerFeature);
  const dbf = encodeDbf(
    layer.fields,
    layer.features.map((f) => f.properties),
  );
  return { shp, shx, dbf };
}

/** ESRI wants outer rings clockwise and holes counter-clockwise (the opposite of GeoJSON). */
function toEsriRings(polygons: readonly PolygonRings[]): Position[][] {
  return polygons.flatMap((rings) => rings.map((ring, i) => orientRing(ring, i === 0)));
}

/** Encodes multi-part shapes of one type as .shp and .shx buffers, parts as given. */
function encodeShp(shapeType: number, features: readonly (readonly Position[][])[]): { shp: Buffer; shx: Buffer } {
  const contentBytes = features.map((parts) => 44 + 4 * parts.length + 16 * countPoints(parts));
  const shpBytes = FILE_HEADER_BYTES + contentBytes.reduce((sum, n) => sum + RECORD_HEADER_BYTES + n, 0);
  const shp = Buffer.alloc(shpBytes);
  const shx = Buffer.alloc(FILE_HEADER_BYTES + RECORD_HEADER_BYTES * features.length);
  const fileBox = boundingBox(features.flat());
  writeFileHeader(shp, shpBytes, shapeType, fileBox);
  writeFileHeader(shx, shx.length, shapeType, fileBox);
  let offset = FILE_HEADER_BYTES;
  features.forEach((parts, i) => {
    const length = contentBytes[i] as number;
    shx.writeInt32BE(offset / 2, FILE_HEADER_BYTES + RECORD_HEADER_BYTES * i);
    shx.writeInt32BE(length / 2, FILE_HEADER_BYTES + RECORD_HEADER_BYTES * i + 4);
    shp.writeInt32BE(i + 1, offset);
    shp.writeInt32BE(length / 2, offset + 4);
    writeRecordContent(shp, offset + RECORD_HEADER_BYTES, shapeType, parts);
    offset += RECORD_HEADER_BYTES + length;
  });
  return { shp, shx };
}

function writeRecordContent(out: Buffer, start: number, shapeType: number, parts: readonly Position[][]): void {
  out.writeInt32LE(shapeType, start);
  writeBox(out, start + 4, boundingBox(parts));
  out.writeInt32LE(parts.length, start + 36);
  out.writeInt32LE(countPoints(parts), start + 40);
  let offset = start + 44;
  let firstPoint = 0;
  for (const part of parts) {
    out.writeInt32LE(firstPoint, offset);
    offset += 4;
    firstPoint += part.length;
  }
  for (const part of parts) {
    for (const [x, y] of part) {
      out.writeDoubleLE(x, offset);
      out.writeDoubleLE(y, offset + 8);
      offset += 16;
    }
  }
}

function writeFileHeader(out: Buffer, totalBytes: number, shapeType: number, box: Box): void {
  out.writeInt32BE(9994, 0);
  out.writeInt32BE(totalBytes / 2, 24);
  out.writeInt32LE(1000, 28);
  out.writeInt32LE(shapeType, 32);
  writeBox(out, 36, box);
  // Z and M ranges (bytes 68–99) stay zero for 2D shapes.
}

type Box = [number, number, number, number];

function boundingBox(parts: readonly Position[][]): Box {
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const part of parts) {
    for (const [x, y] of part) {
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x);
      box[3] = Math.max(box[3], y);
    }
  }
  return box[0] === Infinity ? [0, 0, 0, 0] : box;
}

function writeBox(out: Buffer, offset: number, box: Box): void {
  box.forEach((value, i) => out.writeDoubleLE(value, offset + 8 * i));
}

function countPoints(parts: readonly Position[][]): number {
  return parts.reduce((sum, part) => sum + part.length, 0);
}

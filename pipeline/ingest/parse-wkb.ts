// GeoPackage geometry blobs: the "GP" header (GeoPackage 1.x, §2.1.3) then
// standard WKB (ISO or extended Z/M type codes). Z and M values are dropped.
import type { Geometry, Position } from 'geojson';

/** Bytes that are not a geometry blob; the caller adds the file and the feature. */
export class WkbError extends Error {
  override readonly name = 'WkbError';
}

/** A geometry, or a type the tiles cannot hold (named for the validator). */
export type WkbGeometry = Geometry | { type: string; coordinates: never[] };

const ENVELOPE_BYTES = [0, 32, 48, 48, 64];
const TYPE_NAMES = ['', 'Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon', 'GeometryCollection'];
const OTHER_TYPES: Record<number, string> = {
  8: 'CircularString', 9: 'CompoundCurve', 10: 'CurvePolygon', 11: 'MultiCurve', 12: 'MultiSurface',
  13: 'Curve', 14: 'Surface', 15: 'PolyhedralSurface', 16: 'TIN', 17: 'Triangle',
};

/** Decodes a GeoPackage geometry blob; null for a NULL column. */
export function parseGpkgGeometry(blob: Uint8Array | null): { srsId: number | null; geometry: WkbGeometry | null } {
  if (blob === null) return { srsId: null, geometry: null };
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  if (buf.length < 8 || buf[0] !== 0x47 || buf[1] !== 0x50) throw new WkbError('geometry is not a GeoPackage geometry blob (no "GP" header)');
  const flags = buf[3] as number;
  if (flags & 0x20) throw new WkbError('geometry uses an extended GeoPackage geometry type, which cannot be read');
  const envelope = ENVELOPE_BYTES[(flags >> 1) & 0x07];
  if (envelope === undefined) throw new WkbError(`geometry header has an invalid envelope code ${(flags >> 1) & 0x07}`);
  const srsId = flags & 0x01 ? buf.readInt32LE(4) : buf.readInt32BE(4);
  const reader = new WkbReader(buf, 8 + envelope);
  const geometry = reader.geometry();
  return { srsId, geometry };
}

/** Decodes standard WKB. */
export function parseWkb(bytes: Uint8Array): WkbGeometry {
  return new WkbReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0).geometry();
}

class WkbReader {
  private little = true;
  private dims = 2;
  constructor(private readonly buf: Buffer, private pos: number) {}

  geometry(): WkbGeometry {
    this.need(5, 'a geometry header');
    const order = this.buf[this.pos++];
    if (order !== 0 && order !== 1) throw new WkbError(`WKB has an invalid byte order mark ${order} at byte ${this.pos - 1}`);
    this.little = order === 1;
    let code = this.uint32();
    const hasZ = (code & 0x80000000) !== 0 || [1, 3].includes(Math.floor((code & 0xffff) / 1000));
    const hasM = (code & 0x40000000) !== 0 || [2, 3].includes(Math.floor((code & 0xffff) / 1000));
    if (code & 0x20000000) this.pos += 4; // PostGIS EWKB carries an SRID here
    code = (code & 0x0fffffff) % 1000;
    this.dims = 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0);
    const dims = this.dims;
    const name = TYPE_NAMES[code];
    if (!name) return { type: OTHER_TYPES[code] ?? `WKB type ${code}`, coordinates: [] };
    switch (name) {
      case 'Point': {
        const p = this.position();
        return { type: 'Point', coordinates: Number.isNaN(p[0]) && Number.isNaN(p[1]) ? [] : p };
      }
      case 'LineString': return { type: 'LineString', coordinates: this.positions() };
      case 'Polygon': return { type: 'Polygon', coordinates: this.rings() };
      case 'GeometryCollection': {
        const geometries = this.many(() => this.geometry()) as Geometry[];
        this.dims = dims;
        return { type: 'GeometryCollection', geometries };
      }
      default: return this.multi(name);
    }
  }

  private multi(name: string): WkbGeometry {
    const parts = this.many(() => this.geometry());
    const wanted = name.slice(5);
    const bad = parts.find((p) => p.type !== wanted);
    if (bad) throw new WkbError(`WKB ${name} holds a ${bad.type}`);
    const coords = parts.map((p) => (p as { coordinates: unknown }).coordinates);
    if (name === 'MultiPoint') return { type: 'MultiPoint', coordinates: coords.filter((c) => (c as Position).length) as Position[] };
    if (name === 'MultiLineString') return { type: 'MultiLineString', coordinates: coords as Position[][] };
    return { type: 'MultiPolygon', coordinates: coords as Position[][][] };
  }

  private many<T>(read: () => T): T[] {
    const count = this.uint32();
    // Each element needs at least a 5-byte header; a larger count is a damaged blob, not an allocation.
    this.need(count * 5, `${count} elements`);
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(read());
    return out;
  }

  private rings(): Position[][] {
    const count = this.uint32();
    this.need(count * 4, `${count} rings`);
    const rings: Position[][] = [];
    for (let i = 0; i < count; i++) rings.push(this.positions());
    return rings;
  }

  private positions(): Position[] {
    const count = this.uint32();
    this.need(count * 8 * this.dims, `${count} points`);
    const out: Position[] = new Array<Position>(count);
    for (let i = 0; i < count; i++) out[i] = this.position();
    return out;
  }

  private position(): Position {
    this.need(8 * this.dims, 'a point');
    const x = this.double();
    const y = this.double();
    this.pos += 8 * (this.dims - 2);
    return [x, y];
  }

  private uint32(): number {
    this.need(4, 'a count');
    const v = this.little ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private double(): number {
    const v = this.little ? this.buf.readDoubleLE(this.pos) : this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  private need(bytes: number, what: string): void {
    if (this.pos + bytes > this.buf.length) throw new WkbError(`WKB is truncated: ${what} need ${bytes} bytes at byte ${this.pos}, the blob has ${this.buf.length}`);
  }
}

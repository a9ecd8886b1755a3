import type { Position } from 'geojson';
import { GeometryCode, geometryOf } from './feature-geometry.js';
import { hashFeatures } from './feature-hash.js';
import type { FeatureTable, SourceFeatureLike } from './feature-table.js';
import { projectX, projectY } from './mercator.js';

type TypedArrayOf = Float64Array | Int32Array | Uint32Array | Uint8Array;

/**
 * A typed array over a SharedArrayBuffer, appended to in place and shared with workers
 * without a copy. It grows by doubling into a new buffer (copying what was written):
 * a growable buffer would reserve its whole maximum of address space up front, several
 * GiB per column, which concurrent publishes in one process can run out of.
 */
class SharedColumn<T extends TypedArrayOf> {
  private buffer: SharedArrayBuffer;
  view: T;
  length = 0;

  constructor(private readonly make: (buffer: SharedArrayBuffer) => T, private readonly bytesPer: number, private readonly maxBytes: number) {
    this.buffer = new SharedArrayBuffer(1024 * bytesPer);
    this.view = make(this.buffer);
  }

  /** Makes room for `more` elements past `length`. */
  reserve(more: number): void {
    const need = (this.length + more) * this.bytesPer;
    if (need <= this.buffer.byteLength) return;
    if (need > this.maxBytes) throw new RangeError(`the layer needs more than ${this.maxBytes / 2 ** 30} GiB for one column of its features`);
    const next = new SharedArrayBuffer(Math.min(this.maxBytes, Math.max(need, this.buffer.byteLength * 2)));
    new Uint8Array(next).set(new Uint8Array(this.buffer, 0, this.length * this.bytesPer));
    this.buffer = next;
    this.view = this.make(this.buffer);
  }

  push(value: number): void {
    this.reserve(1);
    this.view[this.length++] = value;
  }

  /** A fixed-length view of what was written. */
  done<U extends TypedArrayOf>(ctor: new (buffer: SharedArrayBuffer, offset: number, length: number) => U): U {
    return new ctor(this.buffer, 0, this.length);
  }
}

const GiB = 2 ** 30;

/** Appends from[start..end) to a column. */
function copy<T extends TypedArrayOf>(to: SharedColumn<T>, from: TypedArrayOf, start: number, end: number): void {
  to.reserve(end - start);
  to.view.set(from.subarray(start, end), to.length);
  to.length += end - start;
}

/** Appends offsets from[start..end), each moved from base `fromBase` there to `toBase` here. */
function rebase(to: SharedColumn<Int32Array>, from: Int32Array, start: number, end: number, toBase: number, fromBase: number): void {
  to.reserve(end - start);
  const shift = toBase - fromBase;
  const view = to.view;
  let at = to.length;
  for (let k = start; k < end; k++) view[at++] = (from[k] as number) + shift;
  to.length = at;
}

/**
 * Packs features one by one, as ingest streams them, into the shared columns of a
 * FeatureTable, so a layer is never held as GeoJSON objects while it is tiled.
 */
export class FeaturePacker {
  private readonly ids = new SharedColumn((b) => new Float64Array(b), 8, GiB / 4);
  private readonly kinds = new SharedColumn((b) => new Uint8Array(b), 1, GiB / 4);
  private readonly featureParts = new SharedColumn((b) => new Int32Array(b), 4, GiB / 4);
  private readonly partRings = new SharedColumn((b) => new Int32Array(b), 4, GiB);
  private readonly ringCoords = new SharedColumn((b) => new Int32Array(b), 4, GiB);
  // 4 GiB, the most V8 allows one buffer: 268 million positions.
  private readonly coords = new SharedColumn((b) => new Float64Array(b), 8, 4 * GiB);
  private readonly bbox = new SharedColumn((b) => new Float64Array(b), 8, GiB);
  private readonly anchors = new SharedColumn((b) => new Float64Array(b), 8, GiB / 2);
  private readonly size = new SharedColumn((b) => new Float64Array(b), 8, GiB / 4);
  private readonly keepSize = new SharedColumn((b) => new Float64Array(b), 8, GiB / 4);
  private readonly props = new SharedColumn((b) => new Uint8Array(b), 1, 2 * GiB);
  private readonly propStart = new SharedColumn((b) => new Int32Array(b), 4, GiB / 4);
  /** Fingerprints of features copied from another table (two words each, 0 for the others), and which those are. */
  private readonly knownHashes = new SharedColumn((b) => new Uint32Array(b), 4, GiB / 4);
  private readonly hashKnown = new SharedColumn((b) => new Uint8Array(b), 1, GiB / 4);
  private count = 0;

  constructor() {
    this.featureParts.push(0);
    this.partRings.push(0);
    this.ringCoords.push(0);
    this.propStart.push(0);
  }

  /**
   * Makes room for a layer the size of `like` and a sixteenth more (a republish, whose
   * source mostly matches its memo), so the columns are not grown by doubling as they
   * fill: each doubling allocates a zeroed shared buffer and copies what was written.
   */
  expect(like: FeatureTable): void {
    const n = like.count;
    const more = (x: number): number => x + Math.ceil(x / 16);
    for (const c of [this.ids, this.kinds, this.size, this.keepSize, this.featureParts, this.propStart, this.hashKnown]) c.reserve(more(n));
    this.bbox.reserve(more(4 * n));
    this.anchors.reserve(more(2 * n));
    this.knownHashes.reserve(more(2 * n));
    this.partRings.reserve(more(like.partRings.length));
    this.ringCoords.reserve(more(like.ringCoords.length));
    this.coords.reserve(more(like.coords.length));
    this.props.reserve(more(like.props.length));
  }

  /** Appends a feature (its id is the MVT id; without one, its position). */
  add(f: SourceFeatureLike): void {
    const { code, parts } = geometryOf(f.geometry);
    this.ids.push(typeof f.id === 'number' ? f.id : this.count);
    this.kinds.push(code);
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const rings of parts) {
      for (const ring of rings) {
        this.coords.reserve(ring.length * 2);
        for (const p of ring) this.addPosition(p, box);
        this.ringCoords.push(this.coords.length / 2);
      }
      this.partRings.push(this.ringCoords.length - 1);
    }
    this.featureParts.push(this.partRings.length - 1);
    for (const v of box) this.bbox.push(v);
    const first = parts[0]?.[0]?.[0] ?? [0, 0];
    this.anchors.push(projectX(first[0] as number));
    this.anchors.push(projectY(first[1] as number));
    const [total, largest] = measure(code, parts);
    this.size.push(total);
    this.keepSize.push(largest);
    const text = Buffer.from(JSON.stringify(f.properties ?? {}), 'utf8');
    this.props.reserve(text.length);
    this.props.view.set(text, this.props.length);
    this.props.length += text.length;
    this.propStart.push(this.props.length);
    this.knownHashes.push(0);
    this.knownHashes.push(0);
    this.hashKnown.push(0);
    this.count++;
  }

  /**
   * Appends features j..j+n-1 of another table as they are there (unchanged features of
   * a previous ingest, taken in runs), fingerprints included.
   */
  addFrom(from: FeatureTable, j: number, n = 1): void {
    const p0 = from.featureParts[j] as number;
    const p1 = from.featureParts[j + n] as number;
    const r0 = from.partRings[p0] as number;
    const r1 = from.partRings[p1] as number;
    const c0 = from.ringCoords[r0] as number;
    const c1 = from.ringCoords[r1] as number;
    const b0 = from.propStart[j] as number;
    const b1 = from.propStart[j + n] as number;
    copy(this.ids, from.ids, j, j + n);
    copy(this.kinds, from.kinds, j, j + n);
    copy(this.bbox, from.bbox, 4 * j, 4 * (j + n));
    copy(this.anchors, from.anchors, 2 * j, 2 * (j + n));
    copy(this.size, from.size, j, j + n);
    copy(this.keepSize, from.keepSize, j, j + n);
    copy(this.knownHashes, from.hashes, 2 * j, 2 * (j + n));
    copy(this.coords, from.coords, 2 * c0, 2 * c1);
    copy(this.props, from.props, b0, b1);
    // Offsets move by where the runs start here and there.
    rebase(this.ringCoords, from.ringCoords, r0 + 1, r1 + 1, this.ringCoords.view[this.ringCoords.length - 1] as number, c0);
    rebase(this.partRings, from.partRings, p0 + 1, p1 + 1, this.partRings.view[this.partRings.length - 1] as number, r0);
    rebase(this.featureParts, from.featureParts, j + 1, j + n + 1, this.featureParts.view[this.featureParts.length - 1] as number, p0);
    rebase(this.propStart, from.propStart, j + 1, j + n + 1, this.propStart.view[this.propStart.length - 1] as number, b0);
    this.hashKnown.reserve(n);
    this.hashKnown.view.fill(1, this.hashKnown.length, this.hashKnown.length + n);
    this.hashKnown.length += n;
    this.count += n;
  }

  /** The packed table, with every feature's fingerprint. */
  finish(): FeatureTable {
    const hashes = new Uint32Array(new SharedArrayBuffer(Math.max(8, this.count * 8)), 0, this.count * 2);
    hashes.set(this.knownHashes.view.subarray(0, this.count * 2));
    const table: FeatureTable = {
      count: this.count,
      ids: this.ids.done(Float64Array), kinds: this.kinds.done(Uint8Array),
      featureParts: this.featureParts.done(Int32Array), partRings: this.partRings.done(Int32Array),
      ringCoords: this.ringCoords.done(Int32Array), coords: this.coords.done(Float64Array),
      bbox: this.bbox.done(Float64Array), anchors: this.anchors.done(Float64Array),
      size: this.size.done(Float64Array), keepSize: this.keepSize.done(Float64Array), hashes,
      props: this.props.done(Uint8Array), propStart: this.propStart.done(Int32Array),
    };
    hashFeatures(table, this.hashKnown.view);
    return table;
  }

  private addPosition(p: Position, box: number[]): void {
    const lon = p[0] as number;
    const lat = p[1] as number;
    this.coords.view[this.coords.length++] = lon;
    this.coords.view[this.coords.length++] = lat;
    const x = projectX(lon);
    const y = projectY(lat);
    if (x < (box[0] as number)) box[0] = x;
    if (y < (box[1] as number)) box[1] = y;
    if (x > (box[2] as number)) box[2] = x;
    if (y > (box[3] as number)) box[3] = y;
  }
}

/**
 * [size, keepSize] in world units: polygons count exterior rings (area, as geojson-vt
 * measures it), lines every line (length); points never vanish.
 */
function measure(code: GeometryCode, parts: Position[][][]): [number, number] {
  if (code === GeometryCode.Point || code === GeometryCode.MultiPoint) return [0, Infinity];
  const polygon = code === GeometryCode.Polygon || code === GeometryCode.MultiPolygon;
  let total = 0;
  let largest = 0;
  for (const rings of parts) {
    for (const ring of polygon ? rings.slice(0, 1) : rings) {
      const s = polygon ? ringArea(ring) : lineLength(ring);
      total += s;
      if (s > largest) largest = s;
    }
  }
  return [total, largest];
}

/** Unsigned ring area in world units: the shoelace sum over projected positions, as geojson-vt computes it. */
function ringArea(ring: Position[]): number {
  let sum = 0;
  let x0 = 0, y0 = 0;
  ring.forEach((p, j) => {
    const x = projectX(p[0] as number);
    const y = projectY(p[1] as number);
    if (j > 0) sum += (x0 * y - x * y0) / 2;
    x0 = x;
    y0 = y;
  });
  return Math.abs(sum);
}

function lineLength(line: Position[]): number {
  let sum = 0;
  let x0 = 0, y0 = 0;
  line.forEach((p, j) => {
    const x = projectX(p[0] as number);
    const y = projectY(p[1] as number);
    if (j > 0) sum += Math.sqrt((x - x0) ** 2 + (y - y0) ** 2);
    x0 = x;
    y0 = y;
  });
  return sum;
}

import { gunzipSync } from 'node:zlib';
import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { PbfReader } from 'pbf';

type Point = [number, number];

/** A feature of a previous tile's layer: its position among the layer's features (see PreviousLayer's columns). */
export type EncodedFeatureRef = number;

/** The UTF-8 replacement character: a text holding it may have come from a lone surrogate, so texts that differ may share these bytes. */
const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/**
 * One layer of a tile this pipeline encoded (vt-pbf's layout), read so that its features
 * can be written into another tile as they are: where each feature's tags and geometry
 * lie, the keys, and the values as bytes. Geometry is decoded only when asked for.
 */
export class PreviousLayer {
  readonly plain: Uint8Array;
  readonly keys: string[] = [];
  /** Body ranges of the Value messages, by value index. */
  readonly valueStarts: number[] = [];
  readonly valueEnds: number[] = [];
  /**
   * Features with an id and a type, in the layer's order: `count` of them, each described
   * by its entry in the columns (its MVT id, type, and where its packed tag indices and
   * its geometry commands lie in `plain`). Columns, not an object per feature: a dense
   * tile holds 10^4-10^5 features, and a republish reads hundreds of tiles.
   */
  count = 0;
  ids = new Float64Array(0);
  types = new Uint8Array(0);
  tagsStart = new Int32Array(0);
  tagsEnd = new Int32Array(0);
  geometryStart = new Int32Array(0);
  geometryEnd = new Int32Array(0);
  /**
   * False when a key or value could stand for more than one text (it holds U+FFFD, which
   * a lone surrogate also becomes): values are matched by bytes, so such a layer is not spliced.
   */
  readonly spliceable: boolean;
  private readonly keyIndex = new Map<string, number>();
  /** Reads one feature's geometry at a time (positionsOf, geometryOf): one reader, not one per feature. */
  private readonly reader: PbfReader;

  /** Reads the named layer of a stored (gzipped) tile. */
  static fromGzip(gz: Uint8Array, layerName: string): PreviousLayer {
    return new PreviousLayer(gunzipSync(gz), layerName);
  }

  /** Reads the named layer of plain MVT bytes. */
  constructor(plain: Uint8Array, layerName: string) {
    this.plain = plain;
    this.reader = new PbfReader(this.plain);
    // Fields read in loops, not through readFields' callbacks: this runs for every feature of every tile lent.
    const pbf = new PbfReader(this.plain);
    let tablesStart = -1;
    while (pbf.pos < plain.length) {
      const field = pbf.readVarint();
      if (field >> 3 !== 3 || (field & 7) !== 2) {
        pbf.skip(field & 7);
        continue;
      }
      const end = pbf.readVarint() + pbf.pos;
      const start = this.readLayer(pbf, end, layerName);
      if (start >= 0 && tablesStart < 0) tablesStart = start;
      pbf.pos = end;
    }
    this.spliceable = tablesStart < 0 || Buffer.from(this.plain.buffer, this.plain.byteOffset, this.plain.byteLength).indexOf(REPLACEMENT, tablesStart) < 0;
  }

  /**
   * Reads one layer message, up to `end`: its features, keys and values when it is the
   * named one. Returns where its keys and values begin (-1: it has none), which for a
   * layer of another name too bounds the search for text that cannot be spliced.
   */
  private readLayer(pbf: PbfReader, end: number, layerName: string): number {
    // Features met before the layer's name are read once it is known (vt-pbf writes the name first).
    const before: number[] = [];
    let name: string | null = null;
    const keys: string[] = [];
    const valueStarts: number[] = [];
    const valueEnds: number[] = [];
    let tablesStart = -1;
    while (pbf.pos < end) {
      const field = pbf.readVarint();
      const tag = field >> 3;
      const wire = field & 7;
      if (wire !== 2) pbf.skip(wire);
      else if (tag === 2) {
        if (name === layerName) this.readFeature(pbf, pbf.pos);
        else {
          before.push(pbf.pos);
          pbf.skip(2);
        }
      } else if (tag === 1) {
        name = pbf.readString();
        if (name === layerName && before.length) this.readFeaturesAt(pbf, before.splice(0));
      } else if (tag === 3) {
        if (tablesStart < 0) tablesStart = pbf.pos;
        keys.push(pbf.readString());
      } else if (tag === 4) {
        if (tablesStart < 0) tablesStart = pbf.pos;
        const vend = pbf.readVarint() + pbf.pos;
        valueStarts.push(pbf.pos);
        valueEnds.push(vend);
        pbf.pos = vend;
      } else pbf.skip(wire);
    }
    if (name !== layerName) return tablesStart;
    keys.forEach((k, n) => {
      this.keys.push(k);
      if (!this.keyIndex.has(k)) this.keyIndex.set(k, n);
    });
    for (let v = 0; v < valueStarts.length; v++) {
      this.valueStarts.push(valueStarts[v] as number);
      this.valueEnds.push(valueEnds[v] as number);
    }
    return tablesStart;
  }

  /** The index of key text `key` in this layer, or -1. */
  findKey(key: string): number {
    return this.keyIndex.get(key) ?? -1;
  }

  /** The positions a feature's decoded geometry holds (a ClosePath repeats one), counted from its commands. */
  positionsOf(ref: EncodedFeatureRef): number {
    const bytes = this.plain;
    let pos = this.geometryStart[ref] as number;
    const end = this.geometryEnd[ref] as number;
    let n = 0;
    while (pos < end) {
      // A command integer (count << 3 | id), then, but for ClosePath, 2 × count parameter
      // varints, skipped by their last bytes (the ones below 0x80).
      let c = 0;
      let shift = 0;
      let b: number;
      do {
        b = bytes[pos++] as number;
        c += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b >= 0x80 && pos < end);
      const count = Math.floor(c / 8);
      n += count;
      if (c % 8 === 7) continue;
      for (let left = 2 * count; left > 0 && pos < end; pos++) if ((bytes[pos] as number) < 0x80) left--;
    }
    return n;
  }

  /** A feature's geometry in the form tiling hands to the encoder (integer tile coordinates, polygon rings closed). */
  geometryOf(ref: EncodedFeatureRef): GeoJSONVTFeature['geometry'] {
    const pbf = this.reader;
    pbf.pos = this.geometryStart[ref] as number;
    const rings = decodeGeometry(pbf, this.geometryEnd[ref] as number);
    return this.types[ref] === 1 ? rings.map((r) => r[0] as Point) : rings;
  }

  /** The position of the feature with MVT id `id`, or -1 (a linear search). */
  refOf(id: number): EncodedFeatureRef {
    for (let k = 0; k < this.count; k++) if (this.ids[k] === id) return k;
    return -1;
  }

  /** The ids of the layer's features, in order. */
  idList(): number[] {
    return Array.from(this.ids.subarray(0, this.count));
  }

  /** Reads the features whose messages start at `starts`, then returns the reader to where it was. */
  private readFeaturesAt(pbf: PbfReader, starts: readonly number[]): void {
    const at = pbf.pos;
    for (const start of starts) this.readFeature(pbf, start);
    pbf.pos = at;
  }

  /** Makes room in the columns for one more feature (doubling them when full). */
  private makeRoom(): void {
    if (this.count < this.ids.length) return;
    const size = Math.max(64, 2 * this.count);
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a.subarray(0, this.count));
      return b;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n));
    this.types = grow(this.types, (n) => new Uint8Array(n));
    this.tagsStart = grow(this.tagsStart, (n) => new Int32Array(n));
    this.tagsEnd = grow(this.tagsEnd, (n) => new Int32Array(n));
    this.geometryStart = grow(this.geometryStart, (n) => new Int32Array(n));
    this.geometryEnd = grow(this.geometryEnd, (n) => new Int32Array(n));
  }

  /** Reads the feature message whose length prefix is at `start` into the columns; the reader ends after it. */
  private readFeature(pbf: PbfReader, start: number): void {
    this.makeRoom();
    pbf.pos = start;
    const end = pbf.readVarint() + pbf.pos;
    const k = this.count;
    let type = 0;
    let hasId = false;
    // Fields read in a loop, not through readFields' callback: this runs for every feature of every tile lent.
    while (pbf.pos < end) {
      const field = pbf.readVarint();
      const tag = field >> 3;
      const wire = field & 7;
      if (tag === 1 && wire === 0) {
        this.ids[k] = pbf.readVarint();
        hasId = true;
      } else if (tag === 3 && wire === 0) type = pbf.readVarint();
      else if ((tag === 2 || tag === 4) && wire === 2) {
        const to = pbf.readVarint() + pbf.pos;
        if (tag === 2) {
          this.tagsStart[k] = pbf.pos;
          this.tagsEnd[k] = to;
        } else {
          this.geometryStart[k] = pbf.pos;
          this.geometryEnd[k] = to;
        }
        pbf.pos = to;
      } else pbf.skip(wire);
    }
    if (!hasId || type < 1 || type > 3) {
      // Not lendable: its entry is overwritten by the next feature.
      this.tagsStart[k] = this.tagsEnd[k] = this.geometryStart[k] = this.geometryEnd[k] = 0;
      return;
    }
    this.types[k] = type;
    this.count++;
  }
}

/**
 * A feature of a previous tile lent to a new one: its id is a table index, its geometry
 * decoded on first use (most lent features are only copied), its bytes at `ref` in `layer`.
 */
export class LentFeature {
  readonly type: 1 | 2 | 3;
  readonly tags = null;
  private shape: GeoJSONVTFeature['geometry'] | null = null;

  constructor(readonly layer: PreviousLayer, readonly ref: EncodedFeatureRef, readonly id: number) {
    this.type = layer.types[ref] as 1 | 2 | 3;
  }

  get geometry(): GeoJSONVTFeature['geometry'] {
    this.shape ??= this.layer.geometryOf(this.ref);
    return this.shape;
  }

  /** The positions of its geometry, as counting the decoded rings gives, without decoding them. */
  positions(): number {
    return this.layer.positionsOf(this.ref);
  }

  /** As a tile feature (geometry and type agree, which the union type cannot see through a getter). */
  asTileFeature(): GeoJSONVTFeature {
    return this as unknown as GeoJSONVTFeature;
  }
}

/** The commands from pbf.pos to `end` as rings of absolute points; ClosePath repeats a ring's first point. */
function decodeGeometry(pbf: PbfReader, end: number): Point[][] {
  const rings: Point[][] = [];
  let ring: Point[] | null = null;
  let x = 0;
  let y = 0;
  let cmd = 0;
  let length = 0;
  while (pbf.pos < end) {
    if (length <= 0) {
      const c = pbf.readVarint();
      cmd = c & 7;
      length = c >> 3;
      if (length <= 0) continue;
    }
    length--;
    if (cmd === 1 || cmd === 2) {
      x += pbf.readSVarint();
      y += pbf.readSVarint();
      if (cmd === 1 || !ring) {
        ring = [];
        rings.push(ring);
      }
      ring.push([x, y]);
    } else if (cmd === 7) {
      const first = ring?.[0];
      if (ring && first) ring.push([first[0], first[1]]);
    }
  }
  return rings;
}

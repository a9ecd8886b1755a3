import { gunzipSync } from 'node:zlib';
import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { PbfReader } from 'pbf';

type Point = [number, number];

/** Where one feature of a previous tile's layer sits in its bytes. */
export interface EncodedFeatureRef {
  /** The feature's MVT id. */
  id: number;
  type: 1 | 2 | 3;
  /** The packed tag indices (into the layer's keys and values). */
  tagsStart: number;
  tagsEnd: number;
  /** The geometry commands. */
  geometryStart: number;
  geometryEnd: number;
}

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
  /** Features with an id and a type, in the layer's order. */
  readonly refs: EncodedFeatureRef[] = [];
  /**
   * False when a key or value could stand for more than one text (it holds U+FFFD, which
   * a lone surrogate also becomes): values are matched by bytes, so such a layer is not spliced.
   */
  readonly spliceable: boolean;
  private readonly keyIndex = new Map<string, number>();

  /** Reads the named layer of a stored (gzipped) tile. */
  static fromGzip(gz: Uint8Array, layerName: string): PreviousLayer {
    return new PreviousLayer(gunzipSync(gz), layerName);
  }

  /** Reads the named layer of plain MVT bytes. */
  constructor(plain: Uint8Array, layerName: string) {
    this.plain = plain;
    const pbf = new PbfReader(this.plain);
    let tablesStart = -1;
    pbf.readFields((tag) => {
      if (tag !== 3) return;
      const end = pbf.readVarint() + pbf.pos;
      const starts: number[] = [];
      let name = '';
      const keys: string[] = [];
      const valueStarts: number[] = [];
      const valueEnds: number[] = [];
      pbf.readFields((ltag) => {
        if (ltag === 1) name = pbf.readString();
        else if (ltag === 2) {
          starts.push(pbf.pos);
          pbf.skip(2);
        } else if (ltag === 3) {
          if (tablesStart < 0) tablesStart = pbf.pos;
          keys.push(pbf.readString());
        } else if (ltag === 4) {
          if (tablesStart < 0) tablesStart = pbf.pos;
          const vend = pbf.readVarint() + pbf.pos;
          valueStarts.push(pbf.pos);
          valueEnds.push(vend);
          pbf.pos = vend;
        } else pbf.skip(pbf.type);
      }, null, end);
      if (name === layerName) {
        keys.forEach((k, n) => {
          this.keys.push(k);
          if (!this.keyIndex.has(k)) this.keyIndex.set(k, n);
        });
        for (let v = 0; v < valueStarts.length; v++) {
          this.valueStarts.push(valueStarts[v] as number);
          this.valueEnds.push(valueEnds[v] as number);
        }
        for (const start of starts) this.readFeature(pbf, start);
      }
      pbf.pos = end;
    }, null);
    this.spliceable = tablesStart < 0 || Buffer.from(this.plain.buffer, this.plain.byteOffset, this.plain.byteLength).indexOf(REPLACEMENT, tablesStart) < 0;
  }

  /** The index of key text `key` in this layer, or -1. */
  findKey(key: string): number {
    return this.keyIndex.get(key) ?? -1;
  }

  /** The positions a feature's decoded geometry holds (a ClosePath repeats one), counted from its commands. */
  positionsOf(ref: EncodedFeatureRef): number {
    const pbf = new PbfReader(this.plain);
    pbf.pos = ref.geometryStart;
    let n = 0;
    while (pbf.pos < ref.geometryEnd) {
      const c = pbf.readVarint();
      const count = c >> 3;
      n += count;
      if ((c & 7) !== 7) for (let k = 0; k < 2 * count; k++) pbf.readVarint();
    }
    return n;
  }

  /** A feature's geometry in the form tiling hands to the encoder (integer tile coordinates, polygon rings closed). */
  geometryOf(ref: EncodedFeatureRef): GeoJSONVTFeature['geometry'] {
    const pbf = new PbfReader(this.plain);
    pbf.pos = ref.geometryStart;
    const rings = decodeGeometry(pbf, ref.geometryEnd);
    return ref.type === 1 ? rings.map((r) => r[0] as Point) : rings;
  }

  private readFeature(pbf: PbfReader, start: number): void {
    pbf.pos = start;
    const end = pbf.readVarint() + pbf.pos;
    const ref: EncodedFeatureRef = { id: -1, type: 1, tagsStart: 0, tagsEnd: 0, geometryStart: 0, geometryEnd: 0 };
    let type = 0;
    let hasId = false;
    // Fields read in a loop, not through readFields' callback: this runs for every feature of every tile lent.
    while (pbf.pos < end) {
      const field = pbf.readVarint();
      const tag = field >> 3;
      const wire = field & 7;
      if (tag === 1 && wire === 0) {
        ref.id = pbf.readVarint();
        hasId = true;
      } else if (tag === 3 && wire === 0) type = pbf.readVarint();
      else if ((tag === 2 || tag === 4) && wire === 2) {
        const to = pbf.readVarint() + pbf.pos;
        if (tag === 2) {
          ref.tagsStart = pbf.pos;
          ref.tagsEnd = to;
        } else {
          ref.geometryStart = pbf.pos;
          ref.geometryEnd = to;
        }
        pbf.pos = to;
      } else pbf.skip(wire);
    }
    if (!hasId || type < 1 || type > 3) return;
    ref.type = type as 1 | 2 | 3;
    this.refs.push(ref);
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
    this.type = ref.type;
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

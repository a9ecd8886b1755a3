import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { PbfReader, PbfWriter } from 'pbf';
import { ByteWriter, messageSize, varintSize } from './byte-writer.js';
import { TILE_EXTENT } from './encode-tile.js';
import type { EncodedFeatureRef, PreviousLayer } from './previous-layer.js';

type TagValue = string | number | boolean;

/** An attribute value as vt-pbf writes it (other than a primitive, its JSON text), or null for none. */
export function tagValue(raw: unknown): TagValue | null {
  if (raw == null) return null;
  return typeof raw === 'string' || typeof raw === 'boolean' || typeof raw === 'number' ? raw : JSON.stringify(raw);
}

/**
 * Writes one layer of lent and fresh features, numbering keys and values by first use as
 * vt-pbf does. The work per feature is in small methods called from short loops: V8
 * optimizes each on its own as soon as it is hot, where one large function compiled
 * while its later loops had not yet run would be thrown back to the interpreter when
 * they start (every dense tile a worker splices first paid for that).
 */
export class LayerWriter {
  // New index of each of the previous layer's keys and values, -1 until first used.
  private readonly keyNew: Int32Array;
  private readonly valueNew: Int32Array;
  private readonly keys: Uint8Array[] = [];
  private readonly freshKeys = new Map<string, number>();
  /** The values table: a previous value's index (>= 0), or -(k + 1) for the k-th of freshBytes. */
  private readonly values: number[] = [];
  private readonly freshBytes: Uint8Array[] = [];
  /** Fresh features' values by vt-pbf's key (type and text), and by the hash of their bytes. */
  private readonly freshValues = new Map<string, FreshValue>();
  private readonly freshByHash = new Map<number, FreshValue[]>();
  /** Bits of the fresh values' hashes (a Bloom filter of one hash), checked before freshByHash. */
  private readonly freshFilter = new Int32Array(FILTER_MASK + 1);
  private readonly pbf: PbfReader;
  /** Every feature's new tag indices, one after another; tagEnds[k] ends feature k's. */
  private tags = new Int32Array(64);
  private t = 0;

  constructor(private readonly name: Uint8Array, private readonly layer: PreviousLayer) {
    this.keyNew = new Int32Array(layer.keys.length).fill(-1);
    this.valueNew = new Int32Array(layer.valueStarts.length).fill(-1);
    this.pbf = new PbfReader(layer.plain);
  }

  /** The layer of features `refs` (a lent feature's place in the previous layer, or -1 for the next of `fresh`, finalized). */
  write(refs: Int32Array, fresh: GeoJSONVTFeature[], geometryOf: (f: GeoJSONVTFeature) => Uint8Array): Uint8Array {
    const n = refs.length;
    // Fresh features' attributes, in vt-pbf's order, noted before any lent value is placed.
    const freshTags = fresh.map((g) => this.noteFresh(g));
    // First every tag and size (a length prefix precedes its message), then the bytes.
    this.tags = new Int32Array(Math.max(64, n * 12));
    this.t = 0;
    const tagEnds = new Int32Array(n);
    const tagSizes = new Int32Array(n);
    const sizes = new Int32Array(n);
    let nextFresh = 0;
    let layerSize = 2 + messageSize(this.name.length) + 3;
    for (let k = 0; k < n; k++) {
      const ref = refs[k] as number;
      const before = this.t;
      let size: number;
      if (ref >= 0) size = this.lentTags(ref);
      else {
        const g = fresh[nextFresh] as GeoJSONVTFeature;
        this.freshTags(freshTags[nextFresh++] ?? []);
        size = featureSize(g.id as number | undefined, geometryOf(g).length);
      }
      const tagSize = this.tagBytes(before, this.t);
      tagEnds[k] = this.t;
      tagSizes[k] = tagSize;
      sizes[k] = size + messageSize(tagSize);
      layerSize += messageSize(sizes[k] as number);
    }
    layerSize += this.tableBytes();
    const out = new ByteWriter(messageSize(layerSize));
    out.byte(0x1a).varint(layerSize); // tile.layers (3)
    out.byte(0x78).varint(2); // version (15)
    out.byte(0x0a).varint(this.name.length).bytes(this.name); // name (1)
    out.byte(0x28).varint(TILE_EXTENT); // extent (5)
    let t = 0;
    nextFresh = 0;
    for (let k = 0; k < n; k++) {
      const ref = refs[k] as number;
      if (ref >= 0) this.writeLent(out, ref, sizes[k] as number, tagSizes[k] as number, t, tagEnds[k] as number);
      else {
        const g = fresh[nextFresh++] as GeoJSONVTFeature;
        this.writeFresh(out, g, geometryOf(g), sizes[k] as number, tagSizes[k] as number, t, tagEnds[k] as number);
      }
      t = tagEnds[k] as number;
    }
    this.writeTables(out);
    return out.finish();
  }

  /** A fresh feature's attributes as (key, value) pairs, its values registered. */
  private noteFresh(g: GeoJSONVTFeature): [string, FreshValue][] {
    const pairs: [string, FreshValue][] = [];
    for (const key in g.tags ?? {}) {
      const value = tagValue(g.tags?.[key]);
      if (value !== null) pairs.push([key, this.registerFresh(value)]);
    }
    return pairs;
  }

  /** Notes a lent feature's tags, re-indexed; returns its message size without the tags field. */
  private lentTags(ref: EncodedFeatureRef): number {
    const layer = this.layer;
    const pbf = this.pbf;
    pbf.pos = layer.tagsStart[ref] as number;
    const end = layer.tagsEnd[ref] as number;
    while (pbf.pos < end) {
      this.pushTag(this.keyFromLayer(pbf.readVarint()));
      this.pushTag(this.valueFromLayer(pbf.readVarint()));
    }
    return featureSize(layer.ids[ref], (layer.geometryEnd[ref] as number) - (layer.geometryStart[ref] as number));
  }

  private freshTags(pairs: readonly [string, FreshValue][]): void {
    for (const [key, value] of pairs) {
      this.pushTag(this.freshKey(key));
      this.pushTag(this.freshValue(value));
    }
  }

  private pushTag(index: number): void {
    if (this.t >= this.tags.length) this.tags = grow(this.tags);
    this.tags[this.t++] = index;
  }

  /** Bytes of the packed tag indices [from, to). */
  private tagBytes(from: number, to: number): number {
    let size = 0;
    for (let j = from; j < to; j++) size += varintSize(this.tags[j] as number);
    return size;
  }

  /** Bytes of the keys and values tables. */
  private tableBytes(): number {
    let size = 0;
    for (const key of this.keys) size += messageSize(key.length);
    for (const value of this.values) size += messageSize(value >= 0 ? (this.layer.valueEnds[value] as number) - (this.layer.valueStarts[value] as number) : (this.freshBytes[-value - 1] as Uint8Array).length);
    return size;
  }

  private writeLent(out: ByteWriter, ref: EncodedFeatureRef, size: number, tagSize: number, from: number, to: number): void {
    const layer = this.layer;
    const start = layer.geometryStart[ref] as number;
    const end = layer.geometryEnd[ref] as number;
    out.byte(0x12).varint(size); // feature (2)
    out.byte(0x08).varint(layer.ids[ref] as number); // id (1)
    this.writeTags(out, tagSize, from, to);
    out.byte(0x18).varint(layer.types[ref] as number); // type (3)
    out.byte(0x22).varint(end - start).range(layer.plain, start, end); // geometry (4)
  }

  private writeFresh(out: ByteWriter, g: GeoJSONVTFeature, geometry: Uint8Array, size: number, tagSize: number, from: number, to: number): void {
    out.byte(0x12).varint(size); // feature (2)
    const id = g.id as number | undefined;
    if (id !== undefined) out.byte(0x08).varint(id); // id (1)
    this.writeTags(out, tagSize, from, to);
    out.byte(0x18).varint(g.type); // type (3)
    out.byte(0x22).varint(geometry.length).bytes(geometry); // geometry (4)
  }

  private writeTags(out: ByteWriter, tagSize: number, from: number, to: number): void {
    out.byte(0x12).varint(tagSize); // tags (2), packed
    for (let t = from; t < to; t++) out.varint(this.tags[t] as number);
  }

  private writeTables(out: ByteWriter): void {
    const plain = this.layer.plain;
    for (const key of this.keys) out.byte(0x1a).varint(key.length).bytes(key); // keys (3)
    for (const value of this.values) { // values (4)
      if (value >= 0) out.byte(0x22).varint((this.layer.valueEnds[value] as number) - (this.layer.valueStarts[value] as number)).range(plain, this.layer.valueStarts[value] as number, this.layer.valueEnds[value] as number);
      else out.byte(0x22).varint((this.freshBytes[-value - 1] as Uint8Array).length).bytes(this.freshBytes[-value - 1] as Uint8Array);
    }
  }

  private keyFromLayer(n: number): number {
    let index = this.keyNew[n] as number;
    if (index < 0) {
      index = this.keyNew[n] = this.keys.push(Buffer.from(this.layer.keys[n] as string, 'utf8')) - 1;
      this.freshKeys.set(this.layer.keys[n] as string, index);
    }
    return index;
  }

  /**
   * The new index of the previous layer's value n. A fresh feature's value with the same
   * bytes is the same value (vt-pbf's types and well-formed text): it shares the index.
   */
  private valueFromLayer(n: number): number {
    let index = this.valueNew[n] as number;
    if (index >= 0) return index;
    const same = this.freshByHash.size ? this.freshLike(n) : undefined;
    if (same) {
      if (same.index < 0) same.index = this.values.push(n) - 1;
      index = same.index;
    } else index = this.values.push(n) - 1;
    this.valueNew[n] = index;
    return index;
  }

  /** The fresh value whose bytes are the previous layer's value n, if any. */
  private freshLike(n: number): FreshValue | undefined {
    const plain = this.layer.plain;
    const start = this.layer.valueStarts[n] as number;
    const end = this.layer.valueEnds[n] as number;
    const h = hashBytes(plain, start, end);
    // Most values match no fresh one: the filter says so without a map lookup.
    if (!((this.freshFilter[(h >>> 5) & FILTER_MASK] as number) & (1 << (h & 31)))) return undefined;
    const candidates = this.freshByHash.get(h);
    if (!candidates) return undefined;
    for (const candidate of candidates) {
      const b = candidate.bytes;
      if (b.length !== end - start) continue;
      let k = 0;
      while (k < b.length && b[k] === plain[start + k]) k++;
      if (k === b.length) return candidate;
    }
    return undefined;
  }

  /** Notes a fresh feature's attribute value before the layer is written. */
  private registerFresh(value: TagValue): FreshValue {
    const key = `${typeof value}:${String(value)}`;
    let fresh = this.freshValues.get(key);
    if (fresh) return fresh;
    const pbf = new PbfWriter();
    writeValue(value, pbf);
    fresh = { bytes: pbf.finish(), index: -1 };
    this.freshValues.set(key, fresh);
    const h = hashBytes(fresh.bytes, 0, fresh.bytes.length);
    this.freshFilter[(h >>> 5) & FILTER_MASK] = (this.freshFilter[(h >>> 5) & FILTER_MASK] as number) | (1 << (h & 31));
    const list = this.freshByHash.get(h);
    if (list) list.push(fresh);
    else this.freshByHash.set(h, [fresh]);
    return fresh;
  }

  private freshKey(key: string): number {
    let index = this.freshKeys.get(key);
    if (index === undefined) {
      const n = this.layer.findKey(key);
      index = n >= 0 ? this.keyFromLayer(n) : this.keys.push(Buffer.from(key, 'utf8')) - 1;
      this.freshKeys.set(key, index);
    }
    return index;
  }

  private freshValue(fresh: FreshValue): number {
    if (fresh.index < 0) fresh.index = this.values.push(-this.freshBytes.push(fresh.bytes)) - 1;
    return fresh.index;
  }
}

/** Words of LayerWriter's filter of fresh value hashes, less one: 2^16 bits. */
const FILTER_MASK = 2047;

/** A fresh feature's value: its Value bytes, and its index in the layer once used (-1 before). */
interface FreshValue {
  bytes: Uint8Array;
  index: number;
}

/** FNV-1a over bytes [start, end). */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ (bytes[k] as number), 0x01000193);
  return h >>> 0;
}

/** An MVT Value message, as vt-pbf writes one. */
function writeValue(value: TagValue, pbf: PbfWriter): void {
  if (typeof value === 'string') pbf.writeStringField(1, value);
  else if (typeof value === 'boolean') pbf.writeBooleanField(7, value);
  else if (value % 1 !== 0) pbf.writeDoubleField(3, value);
  else if (value < 0) pbf.writeSVarintField(6, value);
  else pbf.writeVarintField(5, value);
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Bytes of a feature's message body other than its tags field: id, type and geometry fields. */
function featureSize(id: number | undefined, geometry: number): number {
  return (id === undefined ? 0 : 1 + varintSize(id)) + 2 + messageSize(geometry);
}

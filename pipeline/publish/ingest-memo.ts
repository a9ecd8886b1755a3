import { crc32 } from 'node:zlib';
import type { FieldType, GeometryKind } from '../../src/domain/catalog.js';
import { fieldTypeOf } from '../ingest/layer-accumulator.js';
import type { IngestedRecord } from '../ingest/ingest-layer.js';
import { DigestIndex, DIGEST_CHARS } from '../ingest/digest-index.js';
import type { RecordMemo } from '../ingest/record-memo.js';
import type { PropertyValue } from '../ingest/source-feature.js';
import { GeometryCode } from '../tile/feature-geometry.js';
import type { FeatureTable } from '../tile/feature-table.js';
import type { IngestMemoFile } from '../../src/store/tile-store.js';

// The ingest memo of a layer: its last ingest's packed features (the FeatureTable the
// tiler read), with the digest of the source record each came from and its attribute
// types. A republish takes every record whose bytes are unchanged from here instead of
// parsing, reprojecting and validating it again (see ingestStream's `remember`).
//
// File layout: "PTMEMO\0\1", a u32 header length, the header as JSON (the key, the
// context — CRS label and the source's record context —, feature count, attribute
// signatures, each column's byte length, and a CRC-32 over the rest of the header and
// the columns), then the columns, each starting at a multiple of 8 bytes: the table's
// thirteen, the records' digests, attribute signature numbers and byte lengths.

const MAGIC = Buffer.from('PTMEMO\u0000\u0001', 'latin1');
/** Changes whenever ingest would make different features of the same bytes. */
const MEMO_FORMAT = 6;
/** Features that may not be recalled have spaces for a digest. */
const NO_DIGEST = ' '.repeat(DIGEST_CHARS);

type Signature = [string, FieldType][];

interface MemoHeader {
  format: number;
  key: string;
  context: string;
  count: number;
  signatures: Signature[];
  columns: number[];
  /**
   * CRC-32 of the rest of the header and of the columns: a memo cut short or damaged on
   * disk is ignored. A checksum against damage, not a digest against forgery (the memo
   * lives in the store, which only the publisher writes); it is read at every republish,
   * where SHA-256 over a 200k-feature layer's 120 MB took three times as long.
   */
  body: number;
}

const KIND_OF: Record<number, GeometryKind> = {
  [GeometryCode.Point]: 'point', [GeometryCode.MultiPoint]: 'point',
  [GeometryCode.LineString]: 'line', [GeometryCode.MultiLineString]: 'line',
  [GeometryCode.Polygon]: 'polygon', [GeometryCode.MultiPolygon]: 'polygon',
};

/** A memo read back: serves ingest through RecordMemo and the packer through `table`. */
export class IngestMemo implements RecordMemo {
  /** Built on the first lookup: an ingest that reads its records on another thread looks them up there. */
  private byDigest: DigestIndex | null = null;

  constructor(
    readonly context: string, readonly table: FeatureTable, private readonly digests: Buffer, private readonly signatures: Signature[],
    private readonly signatureOf: Int32Array, private readonly lengths: Int32Array,
  ) {}

  get count(): number {
    return this.table.count;
  }

  length(j: number): number {
    return this.lengths[j] as number;
  }

  find(digest: string): number {
    this.byDigest ??= new DigestIndex(this.digests, this.table.count);
    return this.byDigest.find(digest);
  }

  id(j: number): number {
    return this.table.ids[j] as number;
  }

  kind(j: number): GeometryKind {
    return KIND_OF[this.table.kinds[j] as number] as GeometryKind;
  }

  fields(j: number): readonly (readonly [string, FieldType])[] {
    return this.signatures[this.signatureOf[j] as number] ?? [];
  }

  /** The attribute signature of memo feature j, for the next memo. */
  signature(j: number): number {
    return this.signatureOf[j] as number;
  }

  signatureList(): Signature[] {
    return this.signatures;
  }

  extend(j: number, b: [number, number, number, number]): void {
    const t = this.table;
    const from = t.ringCoords[t.partRings[t.featureParts[j] as number] as number] as number;
    const to = t.ringCoords[t.partRings[t.featureParts[j + 1] as number] as number] as number;
    for (let k = from; k < to; k++) {
      const lon = t.coords[2 * k] as number;
      const lat = t.coords[2 * k + 1] as number;
      if (lon < b[0]) b[0] = lon;
      if (lat < b[1]) b[1] = lat;
      if (lon > b[2]) b[2] = lon;
      if (lat > b[3]) b[3] = lat;
    }
  }
}


/** Collects, record by record as ingest hands them over, what the next memo needs besides the table. */
export class MemoWriter {
  private readonly digests: string[] = [];
  private readonly lengths: number[] = [];
  private readonly signatureOf: number[] = [];
  private readonly signatures: Signature[];
  private readonly signatureIndex = new Map<string, number>();

  /** `previous`: the memo records will be recalled from (its attribute signatures are carried over). */
  constructor(previous: IngestMemo | null) {
    this.signatures = previous ? previous.signatureList().slice() : [];
    this.signatures.forEach((s, k) => this.signatureIndex.set(signatureKey(s), k));
  }

  /** Notes the record that became the next feature of the table; a recalled one came from `previous` (the memo given to the constructor). */
  add(record: IngestedRecord, previous: IngestMemo | null): void {
    this.lengths.push(record.length);
    if (record.recalled !== undefined) {
      if (!previous) throw new Error('a recalled record needs the memo it came from');
      this.digests.push(record.digest);
      this.signatureOf.push(previous.signature(record.recalled));
      return;
    }
    this.digests.push(record.clean && record.digest !== null && record.digest.length === DIGEST_CHARS ? record.digest : NO_DIGEST);
    this.signatureOf.push(this.signatureFor(record.feature.properties));
  }

  /** The memo of `table` (the features added, in order) as parts to write one after another. */
  serialize(key: string, context: string, table: FeatureTable): Uint8Array[] {
    const columns: Uint8Array[] = [
      bytesOf(table.ids), table.kinds, bytesOf(table.featureParts), bytesOf(table.partRings), bytesOf(table.ringCoords), bytesOf(table.coords),
      bytesOf(table.bbox), bytesOf(table.anchors), bytesOf(table.size), bytesOf(table.keepSize), bytesOf(table.hashes), table.props,
      bytesOf(table.propStart), Buffer.from(this.digests.join(''), 'latin1'), bytesOf(Int32Array.from(this.signatureOf)),
      bytesOf(Int32Array.from(this.lengths)),
    ];
    const body: Uint8Array[] = [];
    for (const c of columns) body.push(c, padding(c.byteLength));
    const header: MemoHeader = {
      format: MEMO_FORMAT, key, context, count: table.count, signatures: this.signatures, columns: columns.map((c) => c.byteLength), body: 0,
    };
    let sum = crc32(headerText(header));
    for (const part of body) sum = crc32(part, sum);
    header.body = sum;
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const lead = Buffer.alloc(MAGIC.length + 4);
    MAGIC.copy(lead);
    lead.writeUInt32LE(json.length, MAGIC.length);
    return [lead, json, padding(lead.length + json.length), ...body];
  }

  private signatureFor(properties: Record<string, PropertyValue>): number {
    const signature: Signature = Object.entries(properties).map(([name, value]) => [name, fieldTypeOf(value)]);
    const key = signatureKey(signature);
    let k = this.signatureIndex.get(key);
    if (k === undefined) {
      k = this.signatures.length;
      this.signatures.push(signature);
      this.signatureIndex.set(key, k);
    }
    return k;
  }
}

/** A memo's header and where each column starts; null when it was made under another key (other ingest options or format) or its layout does not hold together. */
function memoLayout(read: (position: number, length: number) => Uint8Array, size: number, key: string): { header: MemoHeader; body: number; starts: number[] } | null {
  const lead = Buffer.from(read(0, MAGIC.length + 4));
  if (lead.length < MAGIC.length + 4 || !lead.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const jsonLength = lead.readUInt32LE(MAGIC.length);
  let header: MemoHeader;
  try {
    header = JSON.parse(Buffer.from(read(MAGIC.length + 4, jsonLength)).toString('utf8')) as MemoHeader;
  } catch {
    return null;
  }
  if (header.format !== MEMO_FORMAT || header.key !== key || !Array.isArray(header.columns) || header.columns.length !== 16) return null;
  const body = align8(MAGIC.length + 4 + jsonLength);
  let at = body;
  const starts: number[] = [];
  for (const length of header.columns) {
    if (!Number.isInteger(length) || length < 0 || at + length > size) return null;
    starts.push(at);
    at = align8(at + length);
  }
  return at === size ? { header, body, starts } : null;
}

/**
 * The record digests and lengths of a memo made under `key`, read ahead of the rest and
 * unchecked: a reader on another thread looks records up in them while the memo is read
 * whole and checked (readIngestMemo) from the same open file. Null as readIngestMemo.
 */
export function readMemoRecords(file: IngestMemoFile, key: string): { digests: Uint8Array; lengths: Int32Array } | null {
  const layout = memoLayout(file.read, file.size, key);
  if (!layout) return null;
  const { header: { count, columns }, starts } = layout;
  if (columns[13] !== count * DIGEST_CHARS || columns[15] !== count * 4) return null;
  // Each read is a buffer of its own (aligned, and free to move to another thread).
  const lengths = file.read(starts[15] as number, columns[15]);
  return { digests: file.read(starts[13] as number, columns[13]), lengths: new Int32Array(lengths.buffer, lengths.byteOffset, count) };
}

/**
 * Reads a memo back; null when it was made under another key (other ingest options or
 * format) or does not hold together. The table's columns are views of `data`.
 */
export function readIngestMemo(data: Uint8Array, key: string): IngestMemo | null {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const layout = memoLayout((position, length) => buf.subarray(position, position + length), buf.length, key);
  if (!layout) return null;
  const { header } = layout;
  if (crc32(buf.subarray(layout.body), crc32(headerText(header))) !== header.body) return null;
  // Columns are views of the memo's bytes (the memo serves only this thread: ingest and
  // the packer, which copies what it recalls); bytes not 8-aligned are copied once.
  const bytes = data.byteOffset % 8 === 0 ? data : new Uint8Array(data);
  const starts = layout.starts.map((at) => bytes.byteOffset + at);
  const n = header.count;
  const len = header.columns;
  const view = <T>(k: number, ctor: new (buffer: ArrayBufferLike, offset: number, length: number) => T, bytesPer: number): T =>
    new ctor(bytes.buffer, starts[k] as number, (len[k] as number) / bytesPer);
  const table: FeatureTable = {
    count: n,
    ids: view(0, Float64Array, 8), kinds: view(1, Uint8Array, 1),
    featureParts: view(2, Int32Array, 4), partRings: view(3, Int32Array, 4),
    ringCoords: view(4, Int32Array, 4), coords: view(5, Float64Array, 8),
    bbox: view(6, Float64Array, 8), anchors: view(7, Float64Array, 8),
    size: view(8, Float64Array, 8), keepSize: view(9, Float64Array, 8),
    hashes: view(10, Uint32Array, 4), props: view(11, Uint8Array, 1),
    propStart: view(12, Int32Array, 4),
  };
  const signatureOf = view(14, Int32Array, 4);
  const lengths = view(15, Int32Array, 4);
  const consistent = table.ids.length === n && table.kinds.length === n && table.featureParts.length === n + 1 && table.bbox.length === 4 * n
    && table.anchors.length === 2 * n && table.size.length === n && table.keepSize.length === n && table.hashes.length === 2 * n
    && table.propStart.length === n + 1 && len[13] === n * DIGEST_CHARS && signatureOf.length === n && lengths.length === n
    && table.featureParts[n] === table.partRings.length - 1 && table.partRings[table.partRings.length - 1] === table.ringCoords.length - 1
    && table.ringCoords[table.ringCoords.length - 1] === table.coords.length / 2 && table.propStart[n] === table.props.length
    && signatureOf.every((s) => s >= 0 && s < header.signatures.length);
  if (!consistent) return null;
  const digestBytes = view(13, Uint8Array, 1);
  const digests = Buffer.from(digestBytes.buffer, digestBytes.byteOffset, digestBytes.byteLength);
  return new IngestMemo(header.context, table, digests, header.signatures, signatureOf, lengths);
}

/** The key a memo is made under: the layer's settings that shape what ingest makes of a record. */
export function ingestMemoKey(settings: Record<string, unknown>): string {
  return JSON.stringify({ format: MEMO_FORMAT, ...settings });
}

/** What the checksum covers of the header: all of it but the checksum. */
function headerText(h: MemoHeader): string {
  return JSON.stringify([h.format, h.key, h.context, h.count, h.signatures, h.columns]);
}

function signatureKey(signature: Signature): string {
  return signature.map(([name, type]) => `${name}\u0000${type}`).join('\u0001');
}

function bytesOf(a: Float64Array | Int32Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function padding(length: number): Uint8Array {
  return new Uint8Array(align8(length) - length);
}

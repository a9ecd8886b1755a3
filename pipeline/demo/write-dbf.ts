// A dBASE III writer for shapefile attribute tables. Text is GBK, as most
// Chinese planning shapefiles are, so field lengths count GBK bytes.
import iconv from 'iconv-lite';

/** One column of a DBF table. */
export interface DbfField {
  /** ASCII, at most 10 characters. */
  name: string;
  /** C = text, N = number written as right-aligned ASCII. */
  type: 'C' | 'N';
  /** Width in bytes. */
  length: number;
  /** Digits after the decimal point (N only). */
  decimals?: number;
}

/** One attribute row, keyed by field name. */
export type DbfRecord = Readonly<Record<string, string | number>>;

const HEADER_BYTES = 32;
const DESCRIPTOR_BYTES = 32;
/** Code page mark for 936 (Simplified Chinese GBK). */
const LANGUAGE_DRIVER_GBK = 0x4d;
/** A fixed header date (2026-01-01) keeps the output byte-identical between runs. */
const HEADER_DATE = [2026 - 1900, 1, 1] as const;
const TEXT_ENCODING = 'gbk';

/** Encodes records as a complete GBK dBASE III (.dbf) file. */
export function encodeDbf(fields: readonly DbfField[], records: readonly DbfRecord[]): Buffer {
  const headerSize = HEADER_BYTES + DESCRIPTOR_BYTES * fields.length + 1;
  const recordSize = 1 + fields.reduce((sum, f) => sum + f.length, 0);
  const out = Buffer.alloc(headerSize + recordSize * records.length + 1, 0);
  writeHeader(out, records.length, headerSize, recordSize);
  fields.forEach((field, i) => writeDescriptor(out, HEADER_BYTES + DESCRIPTOR_BYTES * i, field));
  out[headerSize - 1] = 0x0d;
  records.forEach((record, r) => {
    let offset = headerSize + r * recordSize;
    out[offset++] = 0x20; // not deleted
    for (const field of fields) {
      encodeValue(field, record[field.name]).copy(out, offset);
      offset += field.length;
    }
  });
  out[out.length - 1] = 0x1a;
  return out;
}

function writeHeader(out: Buffer, count: number, headerSize: number, recordSize: number): void {
  out[0] = 0x03;
  out[1] = HEADER_DATE[0];
  out[2] = HEADER_DATE[1];
  out[3] = HEADER_DATE[2];
  out.writeUInt32LE(count, 4);
  out.writeUInt16LE(headerSize, 8);
  out.writeUInt16LE(recordSize, 10);
  out[29] = LANGUAGE_DRIVER_GBK;
}

function writeDescriptor(out: Buffer, offset: number, field: DbfField): void {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,9}$/.test(field.name)) throw new Error(`bad DBF field name: ${field.name}`);
  if (field.length < 1 || field.length > 254) throw new Error(`bad DBF field length: ${field.name}`);
  out.write(field.name, offset, 'ascii');
  out.write(field.type, offset + 11, 'ascii');
  out[offset + 16] = field.length;
  out[offset + 17] = field.type === 'N' ? (field.decimals ?? 0) : 0;
}

function encodeValue(field: DbfField, value: string | number | undefined): Buffer {
  if (field.type === 'N') {
    const text = typeof value === 'number' ? value.toFixed(field.decimals ?? 0) : '';
    if (text.length > field.length) throw new Error(`value ${text} does not fit ${field.name} (N${field.length})`);
    return Buffer.from(text.padStart(field.length, ' '), 'ascii');
  }
  const bytes = truncateToBytes(value === undefined ? '' : String(value), field.length);
  return Buffer.concat([bytes, Buffer.alloc(field.length - bytes.length, 0x20)]);
}

/** Encodes text as GBK, dropping whole characters so a double-byte one is never split. */
function truncateToBytes(text: string, maxBytes: number): Buffer {
  let bytes = iconv.encode(text, TEXT_ENCODING);
  let chars = [...text];
  while (bytes.length > maxBytes) {
    chars = chars.slice(0, -1);
    bytes = iconv.encode(chars.join(''), TEXT_ENCODING);
  }
  return bytes;
}

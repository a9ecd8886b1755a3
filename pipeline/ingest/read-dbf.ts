// dBASE (.dbf) attribute tables of Shapefiles, read with our own decoder: the
// text encoding must be checked field by field, dates must not pass through a
// local-time Date, and an N(18,0) BSM must keep all its digits.
import type { AttributeProblem, PropertyValue } from './source-feature.js';
import { TextDecodeError, type TextDecoderChecked } from './decode-text.js';

/** One column of the table. */
export interface DbfField {
  name: string;
  /** dBASE type letter: C, N, F, D, L, and a few rarer ones. */
  type: string;
  length: number;
  decimals: number;
  /** Byte offset inside a record (after the deletion flag). */
  offset: number;
  /** Integer columns too wide for a double (more than 15 digits) are kept as digit strings. */
  digitsAsText: boolean;
}

/** The table's layout, from its header. */
export interface DbfHeader {
  records: number;
  headerLength: number;
  recordLength: number;
  fields: DbfField[];
}

/** A header that cannot be read; the caller adds the file name. */
export class DbfFormatError extends Error {
  override readonly name = 'DbfFormatError';
}

/** A value that does not fit its column's type. */
class ValueError extends Error {}

/** One decoded record. */
export interface DbfRecord {
  deleted: boolean;
  values: Record<string, PropertyValue>;
  problems: AttributeProblem[];
}

/** Binary or memo columns hold pointers, not values; they are left out. */
const SKIPPED_TYPES = new Set(['M', 'B', 'G', 'P', '0', 'Y', '@', 'T']);

/** Bytes 0–31 give sizes; `headerBytes` must hold the whole header (headerLength bytes). */
export function parseDbfHeader(headerBytes: Buffer, decoder: TextDecoderChecked): DbfHeader {
  if (headerBytes.length < 32) throw new DbfFormatError('is too short for a dBASE header');
  const records = headerBytes.readUInt32LE(4);
  const headerLength = headerBytes.readUInt16LE(8);
  const recordLength = headerBytes.readUInt16LE(10);
  if (headerLength < 33 || headerBytes.length < headerLength) throw new DbfFormatError(`has a damaged header (header length ${headerLength})`);
  const fields: DbfField[] = [];
  let offset = 0;
  for (let at = 32; at + 32 <= headerLength && headerBytes[at] !== 0x0d; at += 32) {
    const raw = headerBytes.subarray(at, at + 11);
    const end = raw.indexOf(0);
    const name = decodeName(raw.subarray(0, end < 0 ? 11 : end), decoder, fields.length + 1);
    const type = String.fromCharCode(headerBytes[at + 11] as number).toUpperCase();
    const length = headerBytes[at + 16] as number;
    const decimals = headerBytes[at + 17] as number;
    fields.push({ name, type, length, decimals, offset, digitsAsText: (type === 'N' || type === 'F') && decimals === 0 && length > 15 });
    offset += length;
  }
  if (!fields.length) throw new DbfFormatError('has no fields');
  if (offset + 1 > recordLength) throw new DbfFormatError(`has fields wider (${offset + 1} bytes) than its records (${recordLength})`);
  return { records, headerLength, recordLength, fields };
}

function decodeName(bytes: Buffer, decoder: TextDecoderChecked, position: number): string {
  try {
    return decoder.decode(trimBytes(bytes)).trim();
  } catch (err) {
    // A name filling its 10 bytes (11 with the terminator some writers leave out) was most likely
    // cut there by the program that wrote it, in the middle of a GBK or UTF-8 character.
    const cut = bytes.length >= 10 ? ' (it fills the 10 bytes a DBF field name may have: the program that wrote it probably cut a longer Chinese name mid-character; rename the field to at most 5 Chinese characters in GBK, 3 in UTF-8)' : '';
    throw new DbfFormatError(`has a field name that ${(err as Error).message}, in field ${position}${cut}`);
  }
}

/** Decodes one record (recordLength bytes, starting with the deletion flag); `table` names the .dbf in messages. */
export function decodeDbfRecord(record: Buffer, header: DbfHeader, decoder: TextDecoderChecked, table: string): DbfRecord {
  const out: DbfRecord = { deleted: record[0] === 0x2a, values: {}, problems: [] };
  for (const field of header.fields) {
    if (SKIPPED_TYPES.has(field.type)) continue;
    const raw = record.subarray(1 + field.offset, 1 + field.offset + field.length);
    try {
      const value = decodeValue(field, raw, decoder);
      if (value !== undefined) out.values[field.name] = value;
    } catch (err) {
      const kind = err instanceof TextDecodeError ? 'undecodable-text' : 'bad-value';
      out.problems.push({ field: field.name, kind, message: `attribute ${field.name} in ${table} ${(err as Error).message}` });
    }
  }
  return out;
}

function decodeValue(field: DbfField, raw: Buffer, decoder: TextDecoderChecked): PropertyValue | undefined {
  switch (field.type) {
    case 'N':
    case 'F': return decodeNumber(field, ascii(raw));
    case 'D': return decodeDate(ascii(raw));
    case 'L': return decodeLogical(ascii(raw));
    case 'I': return raw.length === 4 ? raw.readInt32LE(0) : undefined;
    case 'O': {
      const v = raw.length === 8 ? raw.readDoubleLE(0) : NaN;
      return Number.isFinite(v) ? v : undefined;
    }
    default: {
      const bytes = trimBytes(raw);
      return bytes.length ? decoder.decode(bytes) : undefined;
    }
  }
}

function decodeNumber(field: DbfField, text: string): PropertyValue | undefined {
  // Blank, or all asterisks (dBASE's overflow mark), is a null.
  if (!text || /^\*+$/.test(text)) return undefined;
  if (field.digitsAsText && /^[-+]?\d+$/.test(text)) return text.replace(/^\+/, '');
  const n = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || !Number.isFinite(n)) throw new ValueError(`has "${text}", not a number`);
  return n;
}

function decodeDate(text: string): PropertyValue | undefined {
  if (!text || /^0+$/.test(text)) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new ValueError(`has "${text}", not a date (YYYYMMDD)`);
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) throw new ValueError(`has "${text}", not a calendar date`);
  return `${y}-${mo}-${d}`;
}

function decodeLogical(text: string): PropertyValue | undefined {
  if (!text || text === '?') return undefined;
  if (/^[TtYy]$/.test(text)) return true;
  if (/^[FfNn]$/.test(text)) return false;
  throw new ValueError(`has "${text}", not a logical value (T/F/Y/N/?)`);
}

function ascii(raw: Buffer): string {
  return raw.toString('latin1').replace(/\0/g, ' ').trim();
}

/**
 * Trims spaces and NULs at both ends. Safe on raw GBK/GB18030/UTF-8 bytes: no
 * multi-byte sequence contains 0x20 or 0x00.
 */
function trimBytes(raw: Buffer): Buffer {
  let start = 0;
  let end = raw.length;
  while (start < end && (raw[start] === 0x20 || raw[start] === 0)) start++;
  while (end > start && (raw[end - 1] === 0x20 || raw[end - 1] === 0)) end--;
  return raw.subarray(start, end);
}

// A FeatureCollection's "crs" member may come after its "features" (JSON member order
// means nothing, and some writers put it last), where a streaming read meets it only
// once the features were read. So, before the first feature is read by an assumed CRS,
// the end of the file is read backwards over the top-level members that follow the
// features: a few hundred bytes in the usual layout, never more than TAIL_MAX, so a
// source of any size costs one or two small reads.

import { open } from 'node:fs/promises';

/** What the end of a FeatureCollection says of a "crs" member after its features. */
export type TrailingCrs =
  /** The value of the last such member, as it is in the file. */
  | { kind: 'crs'; bytes: Buffer }
  /** None: the members after the features (if any) were all read, and none is a "crs". */
  | { kind: 'none' }
  /** Not known: the members after the features run past TAIL_MAX, or the end is not that of a JSON object (the reader reports it). */
  | { kind: 'unknown' };

/** The first read from the end: enough for the members a writer puts after the features. */
const TAIL_FIRST = 64 * 1024;
/** The most read from the end (a "crs" member may be up to 1 MiB, as the scanner allows). */
export const TAIL_MAX = 2 * 1024 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** 1 for the bytes that matter inside a container: quotes and brackets. */
const STRUCTURAL = new Uint8Array(256).map((_, b) => (b === QUOTE || b === 0x7b || b === 0x7d || b === 0x5b || b === 0x5d ? 1 : 0));
const NONE: TrailingCrs = { kind: 'none' };
const UNKNOWN: TrailingCrs = { kind: 'unknown' };

/** Looks for a "crs" member after the features of the FeatureCollection in `file`, reading at most TAIL_MAX bytes from its end. */
export async function readTrailingCrs(file: string): Promise<TrailingCrs> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    for (const want of [Math.min(size, TAIL_FIRST), Math.min(size, TAIL_MAX)]) {
      const tail = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(tail, 0, want, size - want);
      if (bytesRead < want) return UNKNOWN; // the file shrank while read: the reader will find out
      const found = findTrailingCrs(tail);
      if (found) return found;
      if (want === size) return UNKNOWN; // the whole file, and still no start: not JSON
    }
    return UNKNOWN;
  } finally {
    await handle.close();
  }
}

/**
 * Walks back from the end of `tail` (the last bytes of a JSON document) over the top-level
 * object's members until the "features" member or a "crs" member; null when it needs bytes
 * before the start of `tail`.
 */
export function findTrailingCrs(tail: Buffer): TrailingCrs | null {
  let i = skipSpace(tail, tail.length - 1);
  if (i < 0) return null;
  if (tail[i] !== 0x7d) return UNKNOWN;
  i = skipSpace(tail, i - 1);
  if (tail[i] === 0x7b) return NONE; // {}
  for (;;) {
    if (i < 0) return null;
    const valueEnd = i;
    const valueStart = valueStartOf(tail, valueEnd);
    i = skipSpace(tail, valueStart - 1);
    if (valueStart < 0 || i < 0) return null;
    if (tail[i] !== 0x3a) return UNKNOWN;
    const keyEnd = skipSpace(tail, i - 1);
    if (keyEnd < 0) return null;
    if (tail[keyEnd] !== QUOTE) return UNKNOWN;
    const keyStart = stringStartOf(tail, keyEnd);
    if (keyStart < 0) return null;
    // Keys compared as the scanner compares them: their bytes, unescaped escapes and all.
    const key = tail.toString('utf8', keyStart + 1, keyEnd);
    i = skipSpace(tail, keyStart - 1);
    if (i < 0) return null;
    const first = tail[i] === 0x7b;
    if (!first && tail[i] !== 0x2c) return UNKNOWN;
    if (key === 'crs') return { kind: 'crs', bytes: Buffer.from(tail.subarray(valueStart, valueEnd + 1)) };
    // The features, or the first member: a document with no features (the reader says so).
    if (key === 'features' || first) return NONE;
    i = skipSpace(tail, i - 1);
  }
}

function skipSpace(buf: Buffer, from: number): number {
  let i = from;
  while (i >= 0) {
    const b = buf[i] as number;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
    i--;
  }
  return i;
}

/** Where the value ending at `end` starts, or -1 before the buffer. */
function valueStartOf(buf: Buffer, end: number): number {
  const b = buf[end] as number;
  if (b === QUOTE) return stringStartOf(buf, end);
  if (b === 0x7d || b === 0x5d) return containerStartOf(buf, end);
  // A number, true, false or null.
  let i = end;
  while (i >= 0) {
    const c = buf[i] as number;
    if (c <= 0x20 || c === 0x2c || c === 0x3a || c === 0x5b || c === 0x7b) break;
    i--;
  }
  return i < 0 ? -1 : i + 1;
}

/** The opening quote of the string whose closing quote is at `end`: the first quote before it not escaped by an odd run of backslashes. */
function stringStartOf(buf: Buffer, end: number): number {
  // (lastIndexOf would take a negative offset as counted from the end.)
  for (let i = end > 0 ? buf.lastIndexOf(QUOTE, end - 1) : -1; i >= 0; i = i > 0 ? buf.lastIndexOf(QUOTE, i - 1) : -1) {
    let k = i - 1;
    while (k >= 0 && buf[k] === BACKSLASH) k--;
    if (k < 0) return -1;
    if ((i - 1 - k) % 2 === 0) return i;
  }
  return -1;
}

/** The opening bracket of the object or array whose closing bracket is at `end`. */
function containerStartOf(buf: Buffer, end: number): number {
  let depth = 0;
  for (let i = end; i >= 0; i--) {
    const b = buf[i] as number;
    if (STRUCTURAL[b] === 0) continue;
    if (b === QUOTE) {
      i = stringStartOf(buf, i);
      if (i < 0) return -1;
    } else if (b === 0x7d || b === 0x5d) depth++;
    else if (b === 0x7b || b === 0x5b) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}

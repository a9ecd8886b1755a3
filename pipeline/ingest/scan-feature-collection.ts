// A streaming splitter for a GeoJSON FeatureCollection: it walks the bytes once,
// tracking strings and brackets, and hands out each element of the top-level
// "features" array (and the small "type" and "crs" members) as its own byte
// slice for JSON.parse. Nothing else of the document is kept, so a file of any
// size is read in constant memory (bounded by the largest feature).

/** Something the scanner found. */
export type ScanEvent<K = never> = { kind: 'feature'; index: number; bytes: Buffer; known?: K } | { kind: 'member'; key: 'type' | 'crs'; bytes: Buffer };

/** The document is not a JSON object with a features array; `feature` is set when inside one. */
export class JsonScanError extends Error {
  override readonly name = 'JsonScanError';
  constructor(message: string, readonly feature?: number) {
    super(message);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MEMBER_LIMIT = 1 << 20;
const BOM = [0xef, 0xbb, 0xbf];

/** 1 for bytes that mean nothing to the value reader in or out of a string (not a quote, backslash or bracket, and no whitespace or control byte). */
const PLAIN = new Uint8Array(256).map((_, b) => (b > 0x20 && b !== QUOTE && b !== BACKSLASH && b !== 0x7b && b !== 0x7d && b !== 0x5b && b !== 0x5d ? 1 : 0));

type Mode = 'start' | 'key' | 'colon' | 'value' | 'after-value' | 'features' | 'after-element' | 'end';

/** Reads one JSON value of any kind, optionally keeping its bytes. */
class ValueReader {
  depth = 0;
  inString = false;
  escape = false;
  scalar = false;
  parts: Buffer[] = [];
  length = 0;
  constructor(readonly keep: boolean, readonly limit: number) {}

  /** Consumes bytes from `start`; returns the index just past the value, or -1 when it continues. */
  read(chunk: Buffer, start: number): number {
    // The state lives in locals while the loop runs (the hot loop of reading GeoJSON) and is stored back on exit.
    let depth = this.depth;
    let inString = this.inString;
    let escape = this.escape;
    let end = -1;
    const n = chunk.length;
    if (this.scalar) end = scalarEnd(chunk, start);
    else {
      for (let i = start; i < n; i++) {
        const b = chunk[i] as number;
        // Most bytes (digits of coordinates, letters of text) change nothing: one lookup passes them.
        if (PLAIN[b] === 1 && !escape && (depth > 0 || inString)) continue;
        if (inString) {
          if (escape) escape = false;
          else if (b === BACKSLASH) escape = true;
          else if (b === QUOTE) {
            inString = false;
            if (depth === 0) {
              end = i + 1;
              break;
            }
          }
        } else if (b === QUOTE) inString = true;
        else if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) {
          depth--;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        } else if (depth === 0 && b > 0x20) {
          this.scalar = true;
          end = scalarEnd(chunk, i);
          break;
        }
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = escape;
    if (end >= 0) return this.take(chunk, start, end);
    this.keepBytes(chunk, start, n);
    return -1;
  }

  /** The value's bytes (only when kept). */
  bytes(): Buffer {
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
  }

  private take(chunk: Buffer, start: number, end: number): number {
    this.keepBytes(chunk, start, end);
    return end;
  }

  private keepBytes(chunk: Buffer, start: number, end: number): void {
    this.length += end - start;
    if (this.length > this.limit) throw new RangeError('value over the size limit');
    if (this.keep && end > start) this.parts.push(Buffer.from(chunk.subarray(start, end)));
  }
}

/** Where a scalar (number, true, false, null) that continues at `from` ends in the chunk, or -1 past it. */
function scalarEnd(chunk: Buffer, from: number): number {
  for (let i = from; i < chunk.length; i++) {
    const b = chunk[i] as number;
    if (b === 0x2c || b === 0x7d || b === 0x5d || b <= 0x20) return i;
  }
  return -1;
}

/** What a scanner's user may tell it about features, and learn of each as it is found. */
export interface ScanHooks<K> {
  /**
   * Asked at the start of each feature: may vouch that the next `length` bytes of the chunk
   * are one whole feature, which is then handed out as it is (a view, not a copy), unscanned.
   */
  known?: (chunk: Buffer, at: number) => K | null;
  /** Told of each feature scanned to its end, in order; what it returns goes with the event. */
  scanned?: (bytes: Buffer) => K | undefined;
}

/** Splits a FeatureCollection's bytes into features, chunk by chunk (see ScanHooks for what a user may add). */
export class FeatureCollectionScanner<K extends { length: number } = never> {
  private mode: Mode = 'start';
  private offset = 0;
  private key: number[] = [];
  private keyDone = false;
  private inKey = false;
  private keyEscape = false;
  private value: ValueReader | null = null;
  private valueKey = '';
  private features = 0;
  private sawFeatures = false;

  private readonly events: ScanEvent<K>[] = [];

  constructor(private readonly maxFeatureBytes: number, private readonly hooks: ScanHooks<K> = {}) {}

  /** Feeds the next chunk; returns what completed within it. */
  feed(chunk: Buffer): ScanEvent<K>[] {
    const events = this.events;
    events.length = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.value) {
        const end = this.readValue(chunk, i);
        if (end < 0) break;
        events.push(...this.finishValue());
        i = end;
        continue;
      }
      i = this.step(chunk, i);
    }
    this.offset += chunk.length;
    return events.splice(0);
  }

  /** Checks the document ended where it should. */
  finish(): { sawFeatures: boolean; features: number } {
    if (this.mode !== 'end') {
      const inside = this.value && this.valueKey === 'features' ? this.features : undefined;
      throw new JsonScanError(`not valid JSON: the file ends unexpectedly at byte ${this.offset} (truncated?)`, inside);
    }
    return { sawFeatures: this.sawFeatures, features: this.features };
  }

  private readValue(chunk: Buffer, i: number): number {
    try {
      return (this.value as ValueReader).read(chunk, i);
    } catch {
      if (this.valueKey === 'features') {
        throw new JsonScanError(`is more than ${this.maxFeatureBytes / 2 ** 20} MiB of JSON, over the limit per feature`, this.features);
      }
      throw new JsonScanError(`the "${this.valueKey}" member is over ${MEMBER_LIMIT / 2 ** 20} MiB`);
    }
  }

  private finishValue(): ScanEvent<K>[] {
    const reader = this.value as ValueReader;
    this.value = null;
    if (this.valueKey === 'features') {
      this.mode = 'after-element';
      const bytes = reader.bytes();
      const known = this.hooks.scanned?.(bytes);
      return [known === undefined ? { kind: 'feature', index: this.features++, bytes } : { kind: 'feature', index: this.features++, bytes, known }];
    }
    this.mode = 'after-value';
    if (this.valueKey === 'type' || this.valueKey === 'crs') return [{ kind: 'member', key: this.valueKey, bytes: reader.bytes() }];
    return [];
  }

  /** One byte (or a key's worth) outside any captured value. */
  private step(chunk: Buffer, i: number): number {
    const b = chunk[i] as number;
    if (this.mode === 'key' && this.inKey) return this.readKey(chunk, i);
    if (b <= 0x20) return i + 1;
    switch (this.mode) {
      case 'start':
        if (this.offset + i < 3 && BOM.includes(b)) return i + 1; // a UTF-8 byte-order mark, possibly split
        if (b === 0x7b) this.mode = 'key';
        else this.unexpected(b, i, b === 0x5b ? 'expected a GeoJSON FeatureCollection, found a JSON array' : undefined);
        return i + 1;
      case 'key':
        if (b === QUOTE) this.startKey();
        else if (b === 0x7d && !this.keyDone) this.mode = 'end';
        else this.unexpected(b, i);
        return i + 1;
      case 'colon':
        if (b !== 0x3a) this.unexpected(b, i);
        this.mode = 'value';
        return i + 1;
      case 'value':
        return this.startValue(b, i);
      case 'after-value':
        if (b === 0x2c) { this.mode = 'key'; this.keyDone = true; } else if (b === 0x7d) this.mode = 'end';
        else this.unexpected(b, i);
        return i + 1;
      case 'features':
      case 'after-element':
        return this.stepInFeatures(chunk, b, i);
      case 'end':
        return this.unexpected(b, i, 'not valid JSON: text after the end of the document');
    }
  }

  private startKey(): void {
    this.inKey = true;
    this.keyEscape = false;
    this.key = [];
  }

  private readKey(chunk: Buffer, i: number): number {
    const b = chunk[i] as number;
    if (this.keyEscape) this.keyEscape = false;
    else if (b === BACKSLASH) this.keyEscape = true;
    else if (b === QUOTE) {
      this.inKey = false;
      this.keyDone = false;
      this.mode = 'colon';
      this.valueKey = Buffer.from(this.key).toString('utf8');
      return i + 1;
    }
    if (this.key.length < 64) this.key.push(b);
    return i + 1;
  }

  private startValue(b: number, i: number): number {
    if (this.valueKey === 'features') {
      if (b !== 0x5b) this.unexpected(b, i, 'the "features" member is not an array');
      this.sawFeatures = true;
      this.mode = 'features';
      return i + 1;
    }
    const keep = this.valueKey === 'type' || this.valueKey === 'crs';
    this.value = new ValueReader(keep, keep ? MEMBER_LIMIT : Infinity);
    return i;
  }

  private stepInFeatures(chunk: Buffer, b: number, i: number): number {
    if (b === 0x5d) {
      this.mode = 'after-value';
      this.valueKey = '';
      return i + 1;
    }
    if (this.mode === 'after-element') {
      if (b !== 0x2c) this.unexpected(b, i);
      this.mode = 'features';
      return i + 1;
    }
    const known = b === 0x7b ? this.hooks.known?.(chunk, i) : null;
    if (known) {
      this.mode = 'after-element';
      this.events.push({ kind: 'feature', index: this.features++, bytes: chunk.subarray(i, i + known.length), known });
      return i + known.length;
    }
    this.value = new ValueReader(true, this.maxFeatureBytes);
    return i;
  }

  private unexpected(b: number, i: number, message?: string): never {
    const inside = this.mode === 'features' || this.mode === 'after-element' ? this.features : undefined;
    const shown = b >= 0x20 && b < 0x7f ? `"${String.fromCharCode(b)}"` : `byte 0x${b.toString(16)}`;
    // FF FE or FE FF first: a UTF-16 byte-order mark (Windows tools' "Unicode").
    const utf16 = this.offset + i === 0 && (b === 0xff || b === 0xfe) ? ' (a UTF-16 byte-order mark: GeoJSON must be UTF-8; save the file as UTF-8)' : '';
    throw new JsonScanError(message ?? `not valid JSON: unexpected ${shown} at byte ${this.offset + i}${utf16}`, inside);
  }
}

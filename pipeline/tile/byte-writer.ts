// The byte-level writing of a spliced layer: protobuf sizes and varints, into a buffer of known size.

/** Bytes of a length-delimited field (one-byte tag) with a body of n bytes. */
export function messageSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/** Bytes of an unsigned varint. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (n = Math.floor(n / 0x800000000); n >= 1; n = Math.floor(n / 128)) size++;
  return size;
}

/** Longest range ByteWriter copies byte by byte. */
const SHORT_RANGE = 48;

/** Writes into a buffer of known size. */
export class ByteWriter {
  private readonly buf: Uint8Array;
  private pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  byte(b: number): this {
    this.buf[this.pos++] = b;
    return this;
  }

  /** An unsigned varint (integers up to 2^53). */
  varint(n: number): this {
    if (n > 0x7fffffff) return this.longVarint(n);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
    return this;
  }

  /**
   * A varint of 2^31 up to 2^53 (MVT ids), from its low and high 32-bit words: the low
   * word's first 28 bits fill four bytes, its last 4 bits and the high word follow.
   */
  private longVarint(n: number): this {
    let low = n >>> 0;
    let high = (n - low) / 4294967296;
    for (let k = 0; k < 4; k++) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low >>>= 7;
    }
    const fifth = low | ((high & 0x7) << 4);
    high >>>= 3;
    if (!high) {
      this.buf[this.pos++] = fifth;
      return this;
    }
    this.buf[this.pos++] = fifth | 0x80;
    while (high >= 0x80) {
      this.buf[this.pos++] = (high & 0x7f) | 0x80;
      high >>>= 7;
    }
    this.buf[this.pos++] = high;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Bytes [start, end) of `from`: a short range by a loop (it costs less than a view), a longer one by a copy. */
  range(from: Uint8Array, start: number, end: number): this {
    if (end - start > SHORT_RANGE) {
      this.buf.set(from.subarray(start, end), this.pos);
      this.pos += end - start;
      return this;
    }
    for (let k = start; k < end; k++) this.buf[this.pos++] = from[k] as number;
    return this;
  }

  finish(): Uint8Array {
    if (this.pos !== this.buf.length) throw new Error(`spliced tile: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

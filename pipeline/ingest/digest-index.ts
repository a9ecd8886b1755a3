import { tableCapacity } from '../tile/id-index.js';

/** Length of a record digest (SHA-256 in base64, recordDigest). */
export const DIGEST_CHARS = 44;
const SPACE = 0x20;

/**
 * A memo's features by record digest (open addressing over its digest column, no
 * string per record). A digest that occurs twice finds nothing: the second record must
 * meet the duplicate id. Records without a digest (spaces) are not indexed.
 */
export class DigestIndex {
  private readonly slots: Int32Array;
  /** 1 for each feature whose digest another feature has too. */
  private readonly twice: Uint8Array;
  private readonly mask: number;

  /** `digests`: `count` digests of DIGEST_CHARS latin1 bytes each. */
  constructor(private readonly digests: Uint8Array, count: number) {
    const capacity = tableCapacity(count);
    this.slots = new Int32Array(capacity).fill(-1);
    this.twice = new Uint8Array(count);
    this.mask = capacity - 1;
    const bytes = Buffer.from(digests.buffer, digests.byteOffset, digests.byteLength);
    for (let j = 0; j < count; j++) {
      if (bytes[j * DIGEST_CHARS] === SPACE) continue;
      let h = this.slotOf((k) => bytes[j * DIGEST_CHARS + k] as number);
      for (; ; h = (h + 1) & this.mask) {
        const at = this.slots[h] as number;
        if (at < 0) {
          this.slots[h] = j;
          break;
        }
        if (bytes.compare(bytes, j * DIGEST_CHARS, (j + 1) * DIGEST_CHARS, at * DIGEST_CHARS, (at + 1) * DIGEST_CHARS) === 0) {
          this.twice[at] = 1;
          this.twice[j] = 1;
          break;
        }
      }
    }
  }

  /** The feature whose record has this digest, or -1 (none, or more than one). */
  find(digest: string): number {
    if (digest.length !== DIGEST_CHARS) return -1;
    for (let h = this.slotOf((k) => digest.charCodeAt(k)); ; h = (h + 1) & this.mask) {
      const at = this.slots[h] as number;
      if (at < 0) return -1;
      if (this.equals(at, digest)) return this.twice[at] ? -1 : at;
    }
  }

  /**
   * The feature whose record has this digest, or -1, as `find` says, looking at feature
   * `j` first: records mostly come in the memo's order, and one comparison spares a
   * lookup in a table far larger than the processor's caches.
   */
  findAt(digest: string, j: number): number {
    if (j >= 0 && j < this.twice.length && digest.length === DIGEST_CHARS && this.equals(j, digest)) return this.twice[j] ? -1 : j;
    return this.find(digest);
  }

  private equals(j: number, digest: string): boolean {
    const base = j * DIGEST_CHARS;
    for (let k = 0; k < DIGEST_CHARS; k++) if (this.digests[base + k] !== digest.charCodeAt(k)) return false;
    return true;
  }

  /** A slot from the first characters of a digest (base64 of SHA-256: evenly spread). */
  private slotOf(code: (k: number) => number): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < 8; k++) h = Math.imul(h ^ code(k), 0x01000193);
    return (h ^ (h >>> 15)) & this.mask;
  }
}

import type { FeatureTable } from './feature-table.js';

/**
 * Fingerprints every feature of a packed table: 64 bits over its id, geometry type,
 * ring structure, coordinates (their exact bits) and properties, written to
 * table.hashes[2i], [2i+1]. Two 32-bit lanes are mixed differently (murmur3-style
 * and FNV-style), so a change of any input bit changes the result. Features marked in
 * `known` already have theirs (copied with them from another table).
 */
export function hashFeatures(table: FeatureTable, known?: Uint8Array): void {
  const coordWords = new Uint32Array(table.coords.buffer, table.coords.byteOffset, table.coords.length * 2);
  const idWords = new Uint32Array(table.ids.buffer, table.ids.byteOffset, table.count * 2);
  const { featureParts, partRings, ringCoords, props, propStart } = table;
  for (let i = 0; i < table.count; i++) {
    if (known?.[i]) continue;
    const h = new Lanes();
    h.word(idWords[2 * i] as number);
    h.word(idWords[2 * i + 1] as number);
    h.word(table.kinds[i] as number);
    for (let p = featureParts[i] as number; p < (featureParts[i + 1] as number); p++) {
      h.word(0x70617274); // a part marker, so [[a],[b]] and [[a,b]] differ
      for (let r = partRings[p] as number; r < (partRings[p + 1] as number); r++) {
        const from = ringCoords[r] as number;
        const to = ringCoords[r + 1] as number;
        h.word(to - from);
        for (let w = from * 4; w < to * 4; w++) h.word(coordWords[w] as number);
      }
    }
    const propFrom = propStart[i] as number;
    const propTo = propStart[i + 1] as number;
    h.word(propTo - propFrom);
    for (let b = propFrom; b < propTo; b++) h.word(props[b] as number);
    table.hashes[2 * i] = h.finishA();
    table.hashes[2 * i + 1] = h.finishB();
  }
}

class Lanes {
  private a = 0x9747b28c;
  private b = 0x811c9dc5;
  private n = 0;

  word(w: number): void {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    this.a ^= k;
    this.a = (this.a << 13) | (this.a >>> 19);
    this.a = (Math.imul(this.a, 5) + 0xe6546b64) | 0;
    this.b = Math.imul(this.b ^ w, 0x01000193) ^ (this.b >>> 15);
    this.n++;
  }

  finishA(): number {
    return fmix(this.a ^ this.n);
  }

  finishB(): number {
    return fmix(this.b ^ Math.imul(this.n, 0x27d4eb2d));
  }
}

/** murmur3's finalizer: every input bit flips each output bit with probability near one half. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

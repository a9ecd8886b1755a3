/**
 * Positions of features by MVT id: an open-addressing hash table of positions in an id
 * array, on shared memory. Built once on the publishing thread, it serves every tiling
 * worker without each building a Map of the whole layer (which cost each worker about
 * half a second on 200k parcels). Ids are non-negative safe integers (MVT ids).
 */
export class IdIndex {
  private readonly mask: number;
  /** Whether `build` met an id twice (the later position is the one kept). */
  duplicates = false;

  private constructor(readonly slots: Int32Array, private readonly ids: ArrayLike<number>) {
    this.mask = slots.length - 1;
  }

  /** Indexes positions 0..count-1 of `ids` (those with include[i] set, when given); a later equal id replaces an earlier one. */
  static build(ids: ArrayLike<number>, count: number, include?: ArrayLike<number>): IdIndex {
    const capacity = tableCapacity(count);
    const index = new IdIndex(new Int32Array(new SharedArrayBuffer(capacity * 4)).fill(-1), ids);
    for (let i = 0; i < count; i++) if (!include || include[i]) index.insert(i);
    return index;
  }

  /** The index whose slots were built by `build` over the same ids (a worker's view of shared slots). */
  static over(slots: Int32Array, ids: ArrayLike<number>): IdIndex {
    return new IdIndex(slots, ids);
  }

  /** The position holding `id`, or -1. */
  get(id: number): number {
    const slots = this.slots;
    for (let h = slotOf(id) & this.mask; ; h = (h + 1) & this.mask) {
      const at = slots[h] as number;
      if (at < 0 || this.ids[at] === id) return at;
    }
  }

  private insert(i: number): void {
    const id = this.ids[i] as number;
    const slots = this.slots;
    let h = slotOf(id) & this.mask;
    while ((slots[h] as number) >= 0 && this.ids[slots[h] as number] !== id) h = (h + 1) & this.mask;
    if ((slots[h] as number) >= 0) this.duplicates = true;
    slots[h] = i;
  }
}

/** Slots of an open-addressing table for `count` entries: a power of two, at most half full. */
export function tableCapacity(count: number): number {
  let capacity = 1024;
  while (capacity < 2 * count) capacity *= 2;
  return capacity;
}

/** A well-mixed 32-bit hash of an integer id up to 2^53. */
function slotOf(id: number): number {
  let h = Math.imul((id >>> 0) ^ Math.imul(Math.floor(id / 4294967296), 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A growing map from MVT id to a non-negative number (open addressing on typed arrays):
 * what ingest keeps of every id it has seen, without a Map entry per feature.
 */
export class IdMap {
  private keys = new Float64Array(1024);
  private values = new Int32Array(1024).fill(-1);
  private count = 0;

  /** The number set for `id`, or -1. */
  get(id: number): number {
    const mask = this.values.length - 1;
    for (let h = slotOf(id) & mask; ; h = (h + 1) & mask) {
      const v = this.values[h] as number;
      if (v < 0 || this.keys[h] === id) return v;
    }
  }

  /** Sets the number (>= 0) of `id`. */
  set(id: number, value: number): void {
    if (2 * (this.count + 1) > this.values.length) this.grow();
    const mask = this.values.length - 1;
    let h = slotOf(id) & mask;
    while ((this.values[h] as number) >= 0 && this.keys[h] !== id) h = (h + 1) & mask;
    if ((this.values[h] as number) < 0) this.count++;
    this.keys[h] = id;
    this.values[h] = value;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.values = new Int32Array(values.length * 2).fill(-1);
    this.count = 0;
    for (let h = 0; h < values.length; h++) if ((values[h] as number) >= 0) this.set(keys[h] as number, values[h] as number);
  }
}

import { describe, expect, it } from 'vitest';
import { IdIndex, IdMap } from '../../pipeline/tile/id-index.js';

/** Ids like the ones ingest makes: small integers, large BSM-style numbers, and hashed ids up to 2^53. */
function ids(n: number, seed: number): number[] {
  let a = seed;
  const next = (): number => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a;
  };
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 3;
    if (kind === 0) return i;
    if (kind === 1) return 371_500_000_000_000 + next();
    return 2 ** 52 + (next() & 0xfffff) * 2 ** 32 + next();
  });
}

describe('id tables', () => {
  it('IdIndex finds the position of every id it holds, the later of equal ids, and -1 for the others', () => {
    const list = ids(50_000, 7);
    list[40_000] = list[123] as number; // an id twice: the later position wins, as Map.set would
    const include = list.map((_, i) => (i % 5 === 4 ? 0 : 1));
    const index = IdIndex.build(Float64Array.from(list), list.length, include);
    const expected = new Map<number, number>();
    list.forEach((id, i) => {
      if (include[i]) expected.set(id, i);
    });
    for (const id of list) expect(index.get(id)).toBe(expected.get(id) ?? -1);
    expect(index.duplicates).toBe(true);
    expect(IdIndex.build(Float64Array.from(ids(1000, 3)), 1000).duplicates).toBe(false);
    for (const id of ids(2_000, 99)) if (!expected.has(id)) expect(index.get(id)).toBe(-1);
    // A worker's view of the same shared slots answers the same.
    const view = IdIndex.over(index.slots, Float64Array.from(list));
    expect(list.every((id) => view.get(id) === index.get(id))).toBe(true);
  });

  it('IdMap keeps what a Map would as it grows, and overwrites', () => {
    const map = new IdMap();
    const reference = new Map<number, number>();
    const list = ids(30_000, 11);
    list.forEach((id, i) => {
      map.set(id, i);
      reference.set(id, i);
      if (i % 7 === 0) {
        map.set(id, i + 1);
        reference.set(id, i + 1);
      }
    });
    for (const id of list) expect(map.get(id)).toBe(reference.get(id));
    for (const id of ids(1_000, 5)) if (!reference.has(id)) expect(map.get(id)).toBe(-1);
    expect(map.get(-1)).toBe(-1);
  });
});

import { describe, expect, it } from 'vitest';
import { Ranking, selectSmallest } from '../../pipeline/tile/rank-candidates.js';

/** A seeded pseudo-random sequence in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('ranking a tile\'s candidates by size', () => {
  it('selects the m-th smallest as sorting does, with many equal values, sorted and reversed input', () => {
    const rnd = seeded(7);
    const inputs = [
      Float64Array.from({ length: 5000 }, () => Math.floor(rnd() * 50)),
      Float64Array.from({ length: 3001 }, () => rnd()),
      Float64Array.from({ length: 2000 }, (_, i) => i),
      Float64Array.from({ length: 2000 }, (_, i) => 2000 - i),
      Float64Array.from({ length: 1000 }, () => 3),
      Float64Array.from([5]),
    ];
    for (const input of inputs) {
      const sorted = Float64Array.from(input).sort();
      const work = Float64Array.from(input);
      for (const m of [0, 1, Math.floor(input.length / 3), input.length - 2, input.length - 1].filter((x) => x >= 0)) {
        expect(selectSmallest(work, m)).toBe(sorted[m]);
        // The array is only reordered: the same values, each selection on what the last left.
        expect(Float64Array.from(work).sort()).toEqual(sorted);
      }
    }
  });

  it('takes the k largest, the earlier in the source first among equal sizes, in table order', () => {
    const rnd = seeded(11);
    const size = Float64Array.from({ length: 4000 }, () => Math.floor(rnd() * 30));
    const candidates = Int32Array.from({ length: 2500 }, (_, k) => k + Math.floor(k / 2));
    const ranking = new Ranking(candidates, size);
    const byRank = [...candidates].sort((a, b) => (size[b] as number) - (size[a] as number) || a - b);
    for (const k of [1, 17, 600, 1250, 2499, 2500, 900]) {
      const expected = byRank.slice(0, k).sort((a, b) => a - b);
      expect(Array.from(ranking.largest(k))).toEqual(expected);
    }
  });
});

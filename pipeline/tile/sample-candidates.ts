import { fmix } from './feature-hash.js';

/**
 * The sample of a tile's candidates that sizes it: every candidate whose id's key has its
 * low bits zero, for the least power-of-two step that leaves about `target` at most. Whether a
 * feature is in it depends only on its own MVT id and the step, so an unchanged feature
 * stays in or out whatever else the tile gained or lost (until the step changes), and the
 * previous version's sample can lend it to an incremental republish.
 */
export function sampleCandidates(candidates: Int32Array, ids: Float64Array, target: number): Int32Array {
  const mask = sampleStep(candidates.length, target) - 1;
  const picked = new Int32Array(candidates.length);
  let n = 0;
  for (const i of candidates) if ((sampleKey(ids[i] as number) & mask) === 0) picked[n++] = i;
  const sample = picked.slice(0, n);
  if (sample.length || !candidates.length) return sample;
  // Too few candidates hit the mask: the one of the lowest key stands for them all.
  let best = candidates[0] as number;
  let lowest = sampleKey(ids[best] as number);
  for (const i of candidates) {
    const key = sampleKey(ids[i] as number);
    if (key < lowest) [best, lowest] = [i, key];
  }
  return Int32Array.of(best);
}

/** The sampling step for `count` candidates: the least power of two that leaves at most about `target` (at least 1). */
export function sampleStep(count: number, target: number): number {
  let step = 1;
  while (step * Math.max(1, target) < count) step *= 2;
  return step;
}

/**
 * A 32-bit key of an MVT id (an integer held in a float64): murmur3's 32-bit hash (seed 0)
 * of its low and high words, so ids that differ in any bit, as running numbers do in their
 * last, give unrelated low bits.
 */
export function sampleKey(id: number): number {
  let h = mixWord(0, id >>> 0);
  h = mixWord(h, Math.floor(id / 2 ** 32) >>> 0);
  return fmix(h ^ 8);
}

/** murmur3's step for one 32-bit block. */
function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

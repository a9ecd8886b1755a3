// Which candidates of a tile are the largest: the size budget's drop search keeps those.

/**
 * Candidates ranked by size, largest first, the earlier in the source first among equal
 * sizes. The k largest are found from the size of the k-th largest (a selection over a
 * copy of the sizes, which each later selection finds partly ordered) and one pass over
 * the candidates, instead of sorting them: a dense low-zoom tile has 10^5 of them, and
 * the search asks for two or three k.
 */
export class Ranking {
  private readonly sizes: Float64Array;

  constructor(private readonly candidates: Int32Array, private readonly size: Float64Array) {
    const sizes = new Float64Array(candidates.length);
    for (let k = 0; k < candidates.length; k++) sizes[k] = size[candidates[k] as number] ?? 0;
    this.sizes = sizes;
  }

  get length(): number {
    return this.candidates.length;
  }

  /** The k largest candidates (0 < k <= length), in ascending table order. */
  largest(k: number): Int32Array {
    const n = this.candidates.length;
    const sizes = this.sizes;
    const threshold = selectSmallest(sizes, n - k);
    // Of the candidates the size of the k-th largest, the earliest are taken: as many as the
    // k largest hold. Those are the selection's place and the k - 1 after it, none smaller.
    let equal = 0;
    for (let r = n - k; r < n; r++) if (sizes[r] === threshold) equal++;
    const out = new Int32Array(k);
    let o = 0;
    for (const i of this.candidates) {
      const s = this.size[i] ?? 0;
      if (s > threshold) out[o++] = i;
      else if (s === threshold && equal > 0) {
        out[o++] = i;
        equal--;
      }
    }
    return out;
  }
}

/**
 * The m-th smallest of `a` (0-based), reordering `a` so that it is at a[m], none larger
 * before it and none smaller after (quickselect, median-of-three pivots; a range it fails
 * to narrow quickly is sorted instead).
 */
export function selectSmallest(a: Float64Array, m: number): number {
  let lo = 0;
  let hi = a.length - 1;
  for (let rounds = 0; hi > lo; rounds++) {
    if (rounds > 60 || hi - lo < 16) {
      a.subarray(lo, hi + 1).sort();
      break;
    }
    const pivot = medianOfThree(a[lo] as number, a[(lo + hi) >>> 1] as number, a[hi] as number);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i++] = a[j] as number;
        a[j--] = t;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] equal the pivot.
    if (m <= j) hi = j;
    else if (m >= i) lo = i;
    else break;
  }
  return a[m] as number;
}

function medianOfThree(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}

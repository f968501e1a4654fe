/**
 * Entry order: of the entries both archives have, which ones are out of order? The answer is the
 * entries outside a longest increasing subsequence of B's positions taken in A's order (the fewest
 * entries that, moved, make the orders agree). O(n log n). Pure.
 */

export interface Placed {
  indexA: number;
  indexB: number;
}

/** The members of `pairs` that are out of order, in A's order. */
export function outOfOrder<T extends Placed>(pairs: readonly T[]): T[] {
  const byA = [...pairs].sort((x, y) => x.indexA - y.indexA);
  const n = byA.length;
  // tails[k]: index in byA of the smallest tail of an increasing run of length k+1.
  const tails: number[] = [];
  const prev = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const v = byA[i]!.indexB;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byA[tails[mid]!]!.indexB < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const keep = new Uint8Array(n);
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) keep[i] = 1;
  return byA.filter((_, i) => keep[i] === 0);
}

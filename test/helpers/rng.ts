/**
 * A small deterministic generator (xorshift32) for tests that make many random cases: a seed makes
 * a failure a reproducible case. Returns numbers in [0, 1).
 */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

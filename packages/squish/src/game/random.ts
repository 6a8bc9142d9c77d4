/**
 * A seeded pseudo-random generator for games that must be reproducible (tests, replays, a
 * shared `options.seed` from a matchmaker): returns a function yielding floats in [0, 1).
 * The same seed always gives the same sequence, on every platform. Algorithm: mulberry32
 * (32-bit state; fast, statistically fine for games, not for cryptography).
 * @param seed any number; only its low 32 bits are used
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

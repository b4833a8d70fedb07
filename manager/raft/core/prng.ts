/**
 * A small deterministic PRNG for the pure core (randomized election timeouts). The core never calls
 * Math.random: the shell injects a generator, seeded from real entropy in production and from a
 * fixed seed in tests and the simulator, so every run can be replayed.
 * @module
 */

/** Returns a uniformly distributed float in [0, 1). */
export type Rand = () => number;

/**
 * xoshiro128** (Blackman and Vigna), 32-bit state words. The seed is expanded with splitmix32 so
 * that small or similar seeds still give unrelated streams.
 */
export function xoshiro128(seed: number): Rand {
  let x = seed >>> 0;
  const split = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Hashes a string (e.g. a node ID) to a 32-bit seed (FNV-1a). */
export function seedFromString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Returns an integer in [0, n) drawn from `rand`. */
export function randomInt(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}

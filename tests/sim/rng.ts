/**
 * The simulator's single source of randomness: one xoshiro128** stream (the core's own PRNG,
 * manager/raft/core/prng.ts) seeded from the run's seed. Every random choice of the simulation
 * (faults, delays, client operations, the cores' election timeouts) draws from it in a
 * deterministic order, so a seed replays exactly.
 * @module
 */
import { type Rand, xoshiro128 } from "../../manager/raft/core/prng.ts";

/** A seeded random stream with the helpers the simulator needs. */
export class SimRng {
  readonly #next: Rand;

  /** Creates the stream for `seed` (any 32-bit integer). */
  constructor(seed: number) {
    this.#next = xoshiro128(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** An integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.#next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)];
  }

  /** A shuffled copy of `items` (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** A generator for a core's election timeouts that draws from this stream. */
  asRand(): Rand {
    return () => this.#next();
  }
}

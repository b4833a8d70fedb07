/**
 * Time for the fake runtime: the system clock, or a manual clock that only moves when a test (or
 * the simulator) advances it, which makes every scripted exit, log line and grace period
 * deterministic.
 */

/** What the fake runtime needs from time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock (Date.now, setTimeout). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that stands still until {@link ManualClock.advance}: timers then fire in time order
 * (ties in creation order), each seeing `now()` equal to its due time.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers (also ones they schedule within the window).
   * Awaits a microtask turn after each timer so promise chains it resolves can react.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= until && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
        }
      }
      if (!next) break;
      this.#timers.delete(next.seq);
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets pending promise callbacks run (a few macrotask-free turns). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

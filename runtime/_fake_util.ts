/**
 * Small building blocks of the fake runtime: a change notifier (what `follow` readers and
 * waiters sleep on) and a bounded async queue (one per event subscriber).
 */

/** Wakes everyone waiting on {@link Notifier.next} when {@link Notifier.notify} is called. */
export class Notifier {
  #waiters: (() => void)[] = [];

  /** Resolves at the next notify(). */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  notify(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }
}

/**
 * A bounded queue drained by one async iterator. When full, the oldest item is dropped (and
 * counted): a slow subscriber loses history rather than growing memory without bound.
 */
export class BoundedQueue<T> {
  readonly #items: T[] = [];
  readonly #max: number;
  readonly #wake = new Notifier();
  #closed = false;
  /** Items dropped because the queue was full. */
  dropped = 0;

  constructor(max: number) {
    this.#max = max;
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.#max) {
      this.#items.shift();
      this.dropped++;
    }
    this.#items.push(item);
    this.#wake.notify();
  }

  close(): void {
    this.#closed = true;
    this.#wake.notify();
  }

  /** Yields items until closed or `signal` aborts. */
  async *drain(signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        while (this.#items.length > 0) yield this.#items.shift()!;
        if (this.#closed || signal?.aborted) return;
        await this.#wake.next();
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.close();
    }
  }
}

/** Resolves when `signal` aborts (never if none); the returned cleanup removes the listener. */
export function abortPromise(signal?: AbortSignal): { promise: Promise<void>; dispose(): void } {
  if (!signal) return { promise: new Promise(() => {}), dispose: () => {} };
  let onAbort = () => {};
  const promise = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}

/** A deterministic, non-cryptographic `sha256:`-shaped digest of a string (FNV-1a, repeated). */
export function fakeDigest(s: string): string {
  let out = "";
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 64; round++) {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i) + round;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return `sha256:${out.slice(0, 64)}`;
}

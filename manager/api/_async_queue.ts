/**
 * A small async queue for the logs/exec plumbing: producers push, one consumer iterates; the
 * consumer ends cleanly on {@link AsyncQueue.close} or throws the error of
 * {@link AsyncQueue.fail}. `onDrain` lets a producer resume once the consumer has caught up.
 * @module
 */

/** A single-consumer queue. The bound is the producer's business (see `size` and `onDrain`). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #done: { err?: Error } | undefined;
  #drainListeners: (() => void)[] = [];

  /** Items waiting for the consumer. */
  get size(): number {
    return this.#items.length;
  }

  /** Whether close or fail was called. */
  get done(): boolean {
    return this.#done !== undefined;
  }

  /** Adds an item (ignored once done). */
  push(item: T): void {
    if (this.#done) return;
    this.#items.push(item);
    this.#wakeUp();
  }

  /** Ends the iteration after the queued items. */
  close(): void {
    this.#done ??= {};
    this.#wakeUp();
  }

  /** Ends the iteration with `err` after the queued items. */
  fail(err: Error): void {
    this.#done ??= { err };
    this.#wakeUp();
  }

  /** Calls `fn` once, the next time the queue becomes empty. */
  onDrain(fn: () => void): void {
    if (this.#items.length === 0) fn();
    else this.#drainListeners.push(fn);
  }

  /** Waits for the next item; `undefined` once done (throws its error, if any). */
  async next(): Promise<T | undefined> {
    while (true) {
      if (this.#items.length > 0) {
        const item = this.#items.shift()!;
        if (this.#items.length === 0) this.#drained();
        return item;
      }
      if (this.#done) {
        this.#drained();
        if (this.#done.err) throw this.#done.err;
        return undefined;
      }
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const item = await this.next();
      if (item === undefined) return;
      yield item;
    }
  }

  #wakeUp(): void {
    this.#wake?.();
  }

  #drained(): void {
    const ls = this.#drainListeners;
    this.#drainListeners = [];
    for (const l of ls) l();
  }
}

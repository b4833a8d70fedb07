/**
 * Timeouts of many concurrent calls that all wait the same time, with one timer: entries expire
 * in the order they were added, so a FIFO queue and a timer armed for its oldest live entry are
 * enough. The Raft shell gives every proposal a timeout; a timer per proposal cost the leader
 * more CPU than the rest of the proposal's bookkeeping together.
 * @module
 */

/** An entry of an {@link ExpiryQueue}; `cancel` it once the call it guards is answered. */
export interface Expiry {
  cancel(): void;
}

interface Item extends Expiry {
  at: number;
  live: boolean;
  onExpire: () => void;
}

/** Calls each entry's `onExpire` once `timeoutMs` passed since it was added, unless cancelled. */
export class ExpiryQueue {
  readonly #timeoutMs: number;
  #q: Item[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Deadline the timer is armed for. */
  #armedAt = Infinity;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Entries added and neither expired, cancelled nor cleared (cancelled ones may linger). */
  get size(): number {
    return this.#q.length - this.#head;
  }

  /** Schedules `onExpire` for `timeoutMs` from now. */
  add(onExpire: () => void): Expiry {
    const item: Item = {
      at: performance.now() + this.#timeoutMs,
      live: true,
      onExpire,
      cancel() {
        item.live = false;
      },
    };
    this.#dropDeadHead();
    this.#q.push(item);
    if (this.#timer === undefined) this.#arm();
    return item;
  }

  /** Forgets every entry without calling it, and stops the timer. */
  clear(): void {
    for (let i = this.#head; i < this.#q.length; i++) this.#q[i].live = false;
    this.#q = [];
    this.#head = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    while (this.#head < this.#q.length && this.#q[this.#head].at <= now) {
      const item = this.#q[this.#head++];
      if (!item.live) continue;
      item.live = false;
      item.onExpire();
    }
    this.#dropDeadHead();
    if (this.#head < this.#q.length) this.#arm();
  }

  /** Arms the timer for the oldest entry (live, after #dropDeadHead). */
  #arm(): void {
    const at = this.#q[this.#head].at;
    if (this.#timer !== undefined && this.#armedAt <= at) return;
    clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  /** Drops cancelled entries from the front, compacting the array now and then. */
  #dropDeadHead(): void {
    while (this.#head < this.#q.length && !this.#q[this.#head].live) this.#head++;
    if (this.#head === this.#q.length) {
      this.#q = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
      this.#q = this.#q.slice(this.#head);
      this.#head = 0;
    }
  }
}

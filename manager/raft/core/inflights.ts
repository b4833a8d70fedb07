/**
 * The window of MsgApp a leader has sent to one follower and not yet seen acknowledged, as a ring
 * buffer of the last index of each message. A full window pauses replication to that follower.
 * @module
 */
import { invariant } from "./_assert.ts";

/** Bounded FIFO of in-flight MsgApp last indexes (ascending). */
export class Inflights {
  readonly capacity: number;
  #start = 0;
  #count = 0;
  #buffer: number[] = [];

  constructor(capacity: number) {
    invariant(capacity >= 1, "inflights capacity must be at least 1");
    this.capacity = capacity;
  }

  /** Number of messages in flight. */
  get count(): number {
    return this.#count;
  }

  /** Records a message whose last entry is `index` (larger than any recorded). */
  add(index: number): void {
    invariant(!this.full(), "cannot add to a full inflights window");
    let next = this.#start + this.#count;
    if (next >= this.capacity) next -= this.capacity;
    // Grow lazily: most followers never fill the window.
    if (next >= this.#buffer.length) this.#buffer.push(index);
    else this.#buffer[next] = index;
    this.#count++;
  }

  /** Frees every message whose last index is ≤ `to` (they were acknowledged). */
  freeLE(to: number): void {
    if (this.#count === 0 || to < this.#buffer[this.#start]) return;
    let idx = this.#start;
    let i = 0;
    for (; i < this.#count; i++) {
      if (to < this.#buffer[idx]) break;
      idx++;
      if (idx >= this.capacity) idx -= this.capacity;
    }
    this.#count -= i;
    this.#start = this.#count === 0 ? 0 : idx;
  }

  /** Frees the oldest message (a heartbeat response proves the follower is alive). */
  freeFirstOne(): void {
    if (this.#count > 0) this.freeLE(this.#buffer[this.#start]);
  }

  full(): boolean {
    return this.#count === this.capacity;
  }

  reset(): void {
    this.#count = 0;
    this.#start = 0;
  }
}

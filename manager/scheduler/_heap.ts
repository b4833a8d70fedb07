/**
 * A binary min-heap over an array with a caller-supplied order. The scheduler keeps feasible
 * nodes in one so each placement costs O(log nodes) instead of a scan: after placing on the top
 * node only that node's key changes, and {@link Heap.updateTop} restores the order.
 * @module
 */

/** A min-heap: `peek()` is the element that sorts first under `before`. */
export class Heap<T> {
  readonly #items: T[];
  readonly #before: (a: T, b: T) => boolean;

  /** Builds a heap of `items` (taken over, not copied) in O(n). */
  constructor(items: T[], before: (a: T, b: T) => boolean) {
    this.#items = items;
    this.#before = before;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** Number of elements. */
  get size(): number {
    return this.#items.length;
  }

  /** The first element, or undefined when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an element. */
  push(item: T): void {
    const items = this.#items;
    const before = this.#before;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the first element. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.#down(0);
    }
    return top;
  }

  /** Restores the order after the top element's key grew (moved later in the order). */
  updateTop(): void {
    this.#down(0);
  }

  #down(start: number): void {
    // Hole-based sift: move children up and write the item once, no swaps.
    const items = this.#items;
    const before = this.#before;
    const n = items.length;
    const item = items[start]!;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(items[r]!, items[l]!) ? r : l;
      const c = items[child]!;
      if (!before(c, item)) break;
      items[i] = c;
      i = child;
    }
    items[i] = item;
  }
}

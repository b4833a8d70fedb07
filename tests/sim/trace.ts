/**
 * The event trace of a run: a ring buffer of the last events, recorded only in verbose mode
 * (formatting every event costs time), printed when a check fails.
 * @module
 */

/** A bounded log of "step: event" lines. */
export class Trace {
  readonly enabled: boolean;
  readonly #capacity: number;
  readonly #lines: string[] = [];
  #start = 0;

  constructor(enabled: boolean, capacity = 50) {
    this.enabled = enabled;
    this.#capacity = capacity;
  }

  /** Records an event; `text` is a function so that non-verbose runs pay nothing. */
  add(step: number, text: () => string): void {
    if (!this.enabled) return;
    const line = `${String(step).padStart(5)}  ${text()}`;
    if (this.#lines.length < this.#capacity) this.#lines.push(line);
    else {
      this.#lines[this.#start] = line;
      this.#start = (this.#start + 1) % this.#capacity;
    }
  }

  /** The recorded events, oldest first. */
  lines(): string[] {
    return [...this.#lines.slice(this.#start), ...this.#lines.slice(0, this.#start)];
  }
}

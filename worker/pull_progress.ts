/**
 * One line of pull progress for a task's status message, from the runtime's pull events:
 * `pulling web:1: 3.1 of 12.0 MB` while layers download, `unpacking web:1: layer 2 of 3` after.
 * @module
 */
import type { PullProgressEvent } from "../runtime/runtime.ts";

/** Folds pull events into a progress line. */
export class PullProgress {
  readonly #image: string;
  readonly #layers = new Map<string, { done: number; total: number }>();

  constructor(image: string) {
    this.#image = image;
  }

  /** The line after `e`, or undefined when `e` changes nothing worth showing. */
  update(e: PullProgressEvent): string | undefined {
    switch (e.kind) {
      case "layer": {
        this.#layers.set(e.digest, { done: e.bytesDone, total: e.bytesTotal });
        let done = 0;
        let total = 0;
        for (const l of this.#layers.values()) {
          done += l.done;
          total += l.total;
        }
        return `pulling ${this.#image}: ${mb(done)} of ${mb(total)} MB`;
      }
      case "unpacked":
        return `unpacking ${this.#image}: layer ${e.index + 1} of ${e.layers}`;
      default:
        return undefined;
    }
  }
}

function mb(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

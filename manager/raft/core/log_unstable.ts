/**
 * The unstable part of the log: entries (and possibly a snapshot) the core has accepted but the
 * shell has not yet persisted. They move to storage when the shell acknowledges a Ready.
 * @module
 */
import { invariant } from "./_assert.ts";
import type { Entry, Snapshot } from "./types.ts";

/**
 * `entries[i]` has index `offset + i`. `offset` may be below the storage's last index: a new leader
 * can overwrite persisted but uncommitted entries, and storage truncates them on append.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index if an unstable snapshot exists. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  /** Last index if there are unstable entries or an unstable snapshot. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : undefined;
  }

  /** Term of `i` if the unstable part knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** Entries up to `i` (of term `t`) are persisted: drop them if still ours and unchanged. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    // Only if the entry was not overwritten in the meantime, and is not the snapshot's.
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }

  /** The snapshot at `i` is persisted. */
  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  /** Replaces everything with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends `ents`, truncating any unstable entries they overwrite. */
  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces all unstable entries; storage truncates its own tail when these are appended.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** Unstable entries [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    invariant(
      lo <= hi && lo >= this.offset && hi <= this.offset + this.entries.length,
      () =>
        `unstable.slice[${lo},${hi}) out of bounds [${this.offset},${
          this.offset + this.entries.length
        })`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

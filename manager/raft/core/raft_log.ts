/**
 * The Raft log as the core sees it: stable entries in {@link Storage}, unstable ones in
 * {@link Unstable}, plus the commit and apply cursors.
 * @module
 */
import { invariant } from "./_assert.ts";
import { CompactedError, LogUnavailableError } from "./errors.ts";
import { Unstable } from "./log_unstable.ts";
import { limitSize } from "./log_util.ts";
import type { Storage } from "./storage.ts";
import type { Entry, Snapshot } from "./types.ts";

/** Log of one node. Invariant: applied ≤ committed ≤ lastIndex. */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (stored on a quorum). */
  committed: number;
  /** Highest index handed to the application and acknowledged by advance(). */
  applied: number;
  /** Highest index handed to the application in a Ready, not yet acknowledged. */
  applying: number;
  readonly maxApplyingBytes: number;

  constructor(storage: Storage, maxApplyingBytes: number) {
    this.storage = storage;
    this.maxApplyingBytes = maxApplyingBytes;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  /**
   * Appends entries from a leader after (index, logTerm) if they match there (§5.3). Returns the
   * last index of the new entries, or undefined on mismatch.
   */
  maybeAppend(
    index: number,
    logTerm: number,
    committed: number,
    ents: Entry[],
  ): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(
        ci > this.committed,
        () => `entry ${ci} conflicts with committed entry ${this.committed}`,
      );
      this.append(ci === ents[0].index ? ents : ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries to the unstable log; returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    invariant(
      ents[0].index - 1 >= this.committed,
      () => `appending after ${ents[0].index - 1} would overwrite committed ${this.committed}`,
    );
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry of `ents` that is not in our log with the same term (0 if all are).
   * New entries past our last index count as conflicts.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off (§5.3): the largest index ≤ `index` whose term is ≤ `term`, and that term. Every
   * entry above it has a term > `term`, so cannot match a log whose entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const t = this.termOrUndefined(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Unstable entries (to persist). */
  unstableEntries(): Entry[] {
    return this.unstable.entries.length === 0 ? [] : this.unstable.entries.slice();
  }

  /** Committed entries not yet handed to the application, limited in size. */
  nextCommittedEntries(): Entry[] {
    const off = Math.max(this.applying + 1, this.firstIndex());
    if (this.committed + 1 <= off) return [];
    return this.slice(off, this.committed + 1, this.maxApplyingBytes);
  }

  /** Whether committed entries await the application. */
  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  /** The latest snapshot: an unstable one received from the leader, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Advances the commit index (never backwards). */
  commitTo(index: number): void {
    if (this.committed >= index) return;
    invariant(
      index <= this.lastIndex(),
      () => `commit ${index} is beyond last index ${this.lastIndex()}`,
    );
    this.committed = index;
  }

  /** Entries up to `index` were handed to the application. */
  applyingTo(index: number): void {
    if (index > this.applying) this.applying = index;
  }

  /** The application applied entries up to `index`. */
  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(
      index <= this.committed && index >= this.applied,
      () => `applied ${index} is outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
    if (this.applying < index) this.applying = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  lastTerm(): number {
    const t = this.termOrUndefined(this.lastIndex());
    invariant(t !== undefined, "term of the last entry is unknown");
    return t;
  }

  /**
   * Term of entry `i`. Throws CompactedError / LogUnavailableError when unknown.
   */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i, dummy + 1);
    if (i > this.lastIndex()) throw new LogUnavailableError(i, this.lastIndex());
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  /** Term of entry `i`, or undefined when compacted or unavailable. */
  termOrUndefined(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof LogUnavailableError) return undefined;
      throw err;
    }
  }

  /** Entries from `i` to the end, limited in size. Throws CompactedError if `i` is compacted. */
  entries(i: number, maxSizeBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSizeBytes);
  }

  /** Whether a log ending at (lastIndex, term) is at least as up-to-date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.termOrUndefined(i) === term;
  }

  /** Commits `maxIndex` if it is of the current `term` (§5.4.2: only current-term entries count). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrUndefined(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Replaces the log with a snapshot from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  /**
   * Entries [lo, hi) limited to about maxSizeBytes (at least one). Throws CompactedError if lo is
   * compacted. Stable and unstable parts are stitched without copying entry data.
   */
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    invariant(
      lo <= hi && hi <= this.lastIndex() + 1,
      () => `slice[${lo},${hi}) out of bounds [${first},${this.lastIndex()}]`,
    );
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const stored = this.storage.entries(lo, Math.min(hi, off), maxSizeBytes);
      if (stored.length < Math.min(hi, off) - lo) return stored; // size-limited
      ents = stored;
    }
    if (hi > off) {
      const unstable = this.unstable.slice(Math.max(lo, off), hi);
      if (ents.length > 0) {
        const combined = ents.slice();
        for (const e of unstable) combined.push(e);
        ents = combined;
      } else {
        ents = unstable;
      }
    }
    return limitSize(ents, maxSizeBytes);
  }
}

/**
 * An in-memory {@link WritableStorage}: the storage of tests and the simulator, and the mirror a
 * persistent store may keep to answer the core's synchronous reads.
 * @module
 */
import { invariant } from "./_assert.ts";
import { CompactedError, LogUnavailableError, SnapshotOutOfDateError } from "./errors.ts";
import { limitSize } from "./log_util.ts";
import type { InitialState, WritableStorage } from "./storage.ts";
import {
  type ConfState,
  EMPTY_HARD_STATE,
  emptySnapshot,
  type Entry,
  type HardState,
  type Snapshot,
} from "./types.ts";

/**
 * Log entries after a snapshot, held in an array whose slot 0 is a dummy entry carrying the
 * snapshot's index and term (as etcd-io/raft's MemoryStorage), so term(firstIndex - 1) works.
 */
export class MemoryStorage implements WritableStorage {
  #hardState: HardState = { ...EMPTY_HARD_STATE };
  #snapshot: Snapshot = emptySnapshot();
  #ents: Entry[] = [dummy(0, 0)];

  /** Returns the hard state and the configuration of the latest snapshot. */
  initialState(): InitialState {
    return {
      hardState: { ...this.#hardState },
      confState: cloneConfState(this.#snapshot.meta.confState),
    };
  }

  /** Entries [lo, hi) limited to about maxSizeBytes (at least one). */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    const offset = this.#ents[0].index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxSizeBytes);
  }

  /** Term of entry `index` in [firstIndex - 1, lastIndex]. */
  term(index: number): number {
    const offset = this.#ents[0].index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index - offset >= this.#ents.length) throw new LogUnavailableError(index, this.lastIndex());
    return this.#ents[index - offset].term;
  }

  /** Snapshot index + 1. */
  firstIndex(): number {
    return this.#ents[0].index + 1;
  }

  /** Index of the last entry. */
  lastIndex(): number {
    return this.#ents[0].index + this.#ents.length - 1;
  }

  /** The latest snapshot. */
  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Persists the hard state. */
  setHardState(hs: HardState): void {
    this.#hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  /** Appends entries, truncating a conflicting suffix; ignores the compacted prefix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    const skip = first > entries[0].index ? first - entries[0].index : 0;
    const offset = entries[skip].index - this.#ents[0].index;
    invariant(
      offset <= this.#ents.length,
      () =>
        `missing log entries: last index ${this.lastIndex()}, appending at ${entries[skip].index}`,
    );
    if (offset < this.#ents.length) this.#ents.length = offset;
    for (let i = skip; i < entries.length; i++) this.#ents.push(entries[i]);
  }

  /** Replaces the log with `snapshot`; throws SnapshotOutOfDateError for an older one. */
  applySnapshot(snapshot: Snapshot): void {
    const cur = this.#snapshot.meta.index;
    if (snapshot.meta.index <= cur) throw new SnapshotOutOfDateError(snapshot.meta.index, cur);
    this.#snapshot = snapshot;
    this.#ents = [dummy(snapshot.meta.index, snapshot.meta.term)];
  }

  /** Records a snapshot at `index` with the application's `data`. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    const cur = this.#snapshot.meta.index;
    if (index <= cur) throw new SnapshotOutOfDateError(index, cur);
    invariant(
      index <= this.lastIndex(),
      () => `snapshot index ${index} > last index ${this.lastIndex()}`,
    );
    const term = this.#ents[index - this.#ents[0].index].term;
    this.#snapshot = { meta: { index, term, confState: cloneConfState(confState) }, data };
    return this.#snapshot;
  }

  /** Drops the entries before `index`; throws CompactedError if already compacted there. */
  compact(index: number): void {
    const offset = this.#ents[0].index;
    if (index <= offset) throw new CompactedError(index, offset + 1);
    invariant(index <= this.lastIndex(), () => `compact ${index} > last index ${this.lastIndex()}`);
    const i = index - offset;
    const rest = this.#ents.slice(i + 1);
    rest.unshift(dummy(this.#ents[i].index, this.#ents[i].term));
    this.#ents = rest;
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: "normal", data: new Uint8Array() };
}

function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

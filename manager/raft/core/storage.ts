/**
 * The storage the Raft core reads its stable log from, and the write side a persistent store
 * implements. Reads are synchronous: the core is a pure state machine and never awaits. A persistent
 * store (Deno KV) keeps an in-memory mirror of what it has durably written and serves reads from
 * it; writes may be asynchronous and the shell awaits them before acting on a Ready.
 * @module
 */
import type { ConfState, Entry, HardState, Snapshot } from "./types.ts";

/** What a node restarts from. */
export interface InitialState {
  hardState: HardState;
  /** Membership configuration of the latest snapshot. Later changes are replayed from the log. */
  confState: ConfState;
}

/**
 * Read side, used by the core. Index conventions (as etcd-io/raft): the snapshot covers
 * [.., firstIndex - 1]; entries [firstIndex, lastIndex] are available; `term(firstIndex - 1)` is
 * the snapshot's term.
 */
export interface Storage {
  /** Hard state and configuration to start from. */
  initialState(): InitialState;
  /**
   * Entries [lo, hi), limited to about `maxSizeBytes` (always at least one entry when lo < hi).
   * Throws CompactedError when lo < firstIndex, LogUnavailableError when hi > lastIndex + 1.
   */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];
  /**
   * Term of entry `index`, for index in [firstIndex - 1, lastIndex]. Throws CompactedError below,
   * LogUnavailableError above.
   */
  term(index: number): number;
  /** Index of the first available entry (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The latest snapshot; may throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

/**
 * Write side, used by the shell while it handles a Ready, and by the application to take snapshots
 * and compact. Each method may return a promise; the shell awaits it before the next step of the
 * Ready contract (persist, then send, then apply, then advance), and when it resolves the write is
 * durable and visible to the read side.
 */
export interface StorageWriter {
  /** Persists the hard state. */
  setHardState(hs: HardState): void | Promise<void>;
  /**
   * Appends entries, replacing any existing suffix from `entries[0].index` on (a leader change
   * may truncate an uncommitted tail). Entries at or below the snapshot index are ignored.
   */
  append(entries: Entry[]): void | Promise<void>;
  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void | Promise<void>;
  /**
   * Records an application snapshot at `index` (≤ lastIndex) and returns it. Does not drop
   * entries; call {@link StorageWriter.compact} for that.
   */
  createSnapshot(
    index: number,
    confState: ConfState,
    data: Uint8Array,
  ): Snapshot | Promise<Snapshot>;
  /** Drops entries before `index` (index becomes firstIndex - 1). Requires index ≤ snapshot index + log. */
  compact(index: number): void | Promise<void>;
}

/** A storage with both sides, as the conformance suite tests it. */
export type WritableStorage = Storage & StorageWriter;

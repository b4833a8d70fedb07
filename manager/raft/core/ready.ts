/**
 * The Ready batch: everything the pure core asks the I/O shell to do.
 * @module
 */
import type { Message } from "./messages.ts";
import type { Entry, HardState, ReadState, Snapshot, SoftState } from "./types.ts";

/**
 * Output of {@link RaftCore.ready}. **The shell must handle it in this order**, then call
 * `advance(ready)` before the next `ready()`:
 *
 * 1. Persist, durably: `snapshot` (if any) first, then `entries` (appending, which truncates any
 *    conflicting suffix), then `hardState` (if any). Sync to disk when `mustSync`.
 * 2. Only then send `messages` (any order, may be dropped or reordered by the network). Votes and
 *    acknowledgements in them promise that 1. is durable; sending before persisting breaks safety.
 *    One exception, taken by the shell (manager/raft/parallel_append.ts, thesis §10.2.1): a
 *    leader may send appends and heartbeats while its own append is being written, because its
 *    own acknowledgement only takes effect through the next Ready, which the shell takes after
 *    the write is durable.
 * 3. Restore the application from `snapshot` (if any), then apply `committedEntries` in order
 *    (conf-change entries too: the core applies membership itself on advance()).
 * 4. Hand `readStates` to waiting reads: each may be served once its index is applied.
 * 5. Call `advance(ready)`.
 *
 * `softState` is informational (leader changes, role) and needs no persistence.
 */
export interface Ready {
  /** New leader/role, when it changed since the previous Ready. */
  softState: SoftState | undefined;
  /** Term, vote or commit to persist, when changed since the last persisted one. */
  hardState: HardState | undefined;
  /** Entries to append to stable storage. */
  entries: Entry[];
  /** Snapshot received from the leader, to persist and restore. */
  snapshot: Snapshot | undefined;
  /** Committed entries to apply, in index order (may overlap `entries`: persist first). */
  committedEntries: Entry[];
  /** Messages to send after persisting. */
  messages: Message[];
  /** Confirmed linearizable read points. */
  readStates: { index: number; context: string }[];
  /** Whether the writes of step 1 must be synced to disk (term/vote or entries changed). */
  mustSync: boolean;
}

/** Whether a Ready carries nothing at all. */
export function isEmptyReady(rd: Ready): boolean {
  return rd.softState === undefined && rd.hardState === undefined && rd.entries.length === 0 &&
    rd.snapshot === undefined && rd.committedEntries.length === 0 && rd.messages.length === 0 &&
    rd.readStates.length === 0;
}

export type { ReadState };

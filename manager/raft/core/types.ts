/**
 * The data types of the pure Raft core: log entries, persistent (hard) and volatile (soft) state,
 * snapshots, membership configurations and configuration changes.
 * @module
 */

/** A Warren node ID. The empty string means "no node". */
export type NodeId = string;

/** The "no node" ID: no leader known, no vote cast. */
export const NONE: NodeId = "";

/** `normal` entries carry application commands; `confChange` entries carry an encoded {@link ConfChange}. */
export type EntryType = "normal" | "confChange";

/** One Raft log entry. `data` of an empty normal entry is the leader's no-op of its term. */
export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/** State that must be on stable storage before the node sends any message (Raft §5, Figure 2). */
export interface HardState {
  term: number;
  /** The candidate voted for in `term`, or {@link NONE}. */
  vote: NodeId;
  /** Highest index known committed. Persisted so restarts do not re-apply less than they knew. */
  commit: number;
}

/** Role of a node: followers and (pre-)candidates elect, the leader replicates. */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state useful to the shell (who leads, what we are). Not persisted. */
export interface SoftState {
  lead: NodeId;
  role: Role;
}

/** A membership configuration: voters decide, learners only receive the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** What a snapshot covers: everything up to and including `index` (of `term`). */
export interface SnapshotMeta {
  index: number;
  term: number;
  /** The membership configuration in effect at `index`. */
  confState: ConfState;
}

/** An application snapshot plus the Raft metadata needed to continue the log after it. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** Single-server membership change kinds (Ongaro's thesis §4.1). */
export type ConfChangeType = "addNode" | "addLearner" | "removeNode";

/**
 * One membership change. `addNode` on a learner promotes it; `addLearner` on a voter demotes it.
 * `context` is opaque to Raft (e.g. the new member's address).
 */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
}

/** A linearizable read point: reads for `context` may be served once `index` is applied. */
export interface ReadState {
  index: number;
  context: string;
}

/** The empty hard state of a fresh node. */
export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({
  term: 0,
  vote: NONE,
  commit: 0,
});

/** Returns an empty snapshot (index 0): the initial state of a fresh storage. */
export function emptySnapshot(): Snapshot {
  return {
    meta: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: new Uint8Array(),
  };
}

/** Whether `s` is the empty snapshot. */
export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.meta.index === 0;
}

/** Whether two hard states are equal. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Approximate encoded size of an entry, used for message and batch size limits. */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 16;
}

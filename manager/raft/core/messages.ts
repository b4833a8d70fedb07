/**
 * Raft messages as a discriminated union on `type`. Every message names its sender, receiver and
 * the sender's term; `term: 0` marks a local or forwarded request (proposal, read, transfer,
 * transport report) that is not bound to a term.
 * @module
 */
import type { Entry, NodeId, SnapshotMeta } from "./types.ts";

/** Fields every message has. */
interface MessageBase {
  from: NodeId;
  to: NodeId;
  /** Sender's term; 0 for local messages and forwarded requests. */
  term: number;
}

/** Append entries (§5.3) after the entry at `index` of `logTerm`; also carries the leader's commit. */
export interface MsgApp extends MessageBase {
  type: "MsgApp";
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Answer to MsgApp. Accepted: `index` is the follower's last matching index. Rejected: `index` is the
 * rejected MsgApp's index and (`rejectHint`, `logTerm`) is the follower's best guess of where the
 * logs may match, for fast back-off (§5.3, "the term of the conflicting entry and the first index").
 */
export interface MsgAppResp extends MessageBase {
  type: "MsgAppResp";
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

/** RequestVote (§5.2). `transfer` marks an election forced by leadership transfer (§3.10). */
export interface MsgVote extends MessageBase {
  type: "MsgVote";
  index: number;
  logTerm: number;
  transfer: boolean;
}

/** Pre-vote (thesis §9.6): "would you vote for me at `term`?", without anyone changing terms. */
export interface MsgPreVote extends MessageBase {
  type: "MsgPreVote";
  index: number;
  logTerm: number;
  transfer: boolean;
}

/** Answer to MsgVote. */
export interface MsgVoteResp extends MessageBase {
  type: "MsgVoteResp";
  reject: boolean;
}

/** Answer to MsgPreVote. */
export interface MsgPreVoteResp extends MessageBase {
  type: "MsgPreVoteResp";
  reject: boolean;
}

/** Leader heartbeat; `context` is a pending ReadIndex request being confirmed (§6.4), or "". */
export interface MsgHeartbeat extends MessageBase {
  type: "MsgHeartbeat";
  commit: number;
  context: string;
}

/** Answer to MsgHeartbeat, echoing its `context`. */
export interface MsgHeartbeatResp extends MessageBase {
  type: "MsgHeartbeatResp";
  context: string;
}

/**
 * One chunk of an InstallSnapshot (§7): bytes [offset, offset + data.length) of a snapshot of
 * `totalBytes`; `done` on the last chunk. `data` may alias the sender's snapshot buffer.
 */
export interface MsgSnap extends MessageBase {
  type: "MsgSnap";
  meta: SnapshotMeta;
  offset: number;
  totalBytes: number;
  data: Uint8Array;
  done: boolean;
}

/**
 * Follower's acknowledgement of snapshot chunks: it holds bytes [0, offset) of the snapshot at
 * (`snapIndex`, `snapTerm`). `reject` means a chunk arrived out of order: resend from `offset`.
 */
export interface MsgSnapAck extends MessageBase {
  type: "MsgSnapAck";
  snapIndex: number;
  snapTerm: number;
  offset: number;
  reject: boolean;
}

/** Local report from the transport: sending a snapshot to `from` failed (`reject`) or finished. */
export interface MsgSnapStatus extends MessageBase {
  type: "MsgSnapStatus";
  reject: boolean;
}

/** Local report from the transport: `from` is unreachable; stop pipelining to it. */
export interface MsgUnreachable extends MessageBase {
  type: "MsgUnreachable";
}

/** Leadership transfer (§3.10): "start an election now", bypassing the leader lease. */
export interface MsgTimeoutNow extends MessageBase {
  type: "MsgTimeoutNow";
}

/** ReadIndex request (§6.4) identified by `context`; forwarded by followers to the leader. */
export interface MsgReadIndex extends MessageBase {
  type: "MsgReadIndex";
  context: string;
}

/** The leader's answer to a forwarded ReadIndex: serve the read once `index` is applied. */
export interface MsgReadIndexResp extends MessageBase {
  type: "MsgReadIndexResp";
  index: number;
  context: string;
}

/** Ask the leader to hand leadership to `from` (the transferee). */
export interface MsgTransferLeader extends MessageBase {
  type: "MsgTransferLeader";
}

/** A proposal of new entries; followers forward it to the leader. */
export interface MsgProp extends MessageBase {
  type: "MsgProp";
  entries: Entry[];
}

/** Every Raft message. */
export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgPreVote
  | MsgPreVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgSnapAck
  | MsgSnapStatus
  | MsgUnreachable
  | MsgTimeoutNow
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTransferLeader
  | MsgProp;

/** The `type` tag of a message. */
export type MessageType = Message["type"];

/** Reports produced by this node's own transport; never accepted from the network. */
export function isLocalMessage(m: Message): boolean {
  return m.type === "MsgSnapStatus" || m.type === "MsgUnreachable";
}

/** Messages that answer another message (a dropped answer is only retried by its request). */
export function isResponseMessage(m: Message): boolean {
  return m.type === "MsgAppResp" || m.type === "MsgVoteResp" || m.type === "MsgPreVoteResp" ||
    m.type === "MsgHeartbeatResp" || m.type === "MsgSnapAck" || m.type === "MsgReadIndexResp";
}

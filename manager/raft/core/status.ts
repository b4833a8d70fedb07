/**
 * A read-only summary of a node's Raft state, for diagnostics, metrics and the CLI.
 * @module
 */
import type { ProgressState } from "./progress.ts";
import type { ConfState, NodeId, Role } from "./types.ts";

/** A follower's replication progress, as the leader sees it. */
export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  paused: boolean;
  inflight: number;
  recentActive: boolean;
  isLearner: boolean;
  /** Snapshot index being sent (snapshot state), else 0. */
  pendingSnapshot: number;
}

/** Status of one node. `progress` is filled on the leader only. */
export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  role: Role;
  leadTransferee: NodeId;
  config: ConfState;
  progress: Record<NodeId, ProgressStatus>;
  /** First and last index of the log. */
  firstIndex: number;
  lastIndex: number;
}

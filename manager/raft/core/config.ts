/**
 * Configuration of one Raft core, with defaults and validation.
 * @module
 */
import { ValidationError } from "../../../proto/errors.ts";
import { type Rand, seedFromString, xoshiro128 } from "./prng.ts";
import type { NodeId } from "./types.ts";

/** How linearizable reads are confirmed (§6.4). */
export type ReadOnlyOption = "safe" | "lease";

/** Options of {@link RaftCore}; only `id` is required. */
export interface RaftConfig {
  /** This node's ID (non-empty). */
  id: NodeId;
  /** Follower election timeout in ticks; the randomized timeout is in [electionTicks, 2*electionTicks). Default 10. */
  electionTicks?: number;
  /** Leader heartbeat interval in ticks, less than electionTicks. Default 1. */
  heartbeatTicks?: number;
  /** Pre-vote before real elections (thesis §9.6), so a rejoining node cannot disrupt. Default true. */
  preVote?: boolean;
  /** Leader steps down without a quorum of recent contact; followers keep a vote lease. Default true. */
  checkQuorum?: boolean;
  /** Upper bound of entry bytes in one MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsgBytes?: number;
  /** Upper bound of unacknowledged MsgApp per follower in replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes per InstallSnapshot chunk. Default 512 KiB. */
  snapshotChunkBytes?: number;
  /** Upper bound of unacknowledged snapshot chunks per follower. Default 4. */
  maxInflightSnapshotChunks?: number;
  /** Upper bound of committed-entry bytes handed out by one Ready (at least one). Default 8 MiB. */
  maxCommittedSizePerReadyBytes?: number;
  /** Upper bound of proposed but uncommitted entry bytes on the leader; 0 = unbounded. Default 64 MiB. */
  maxUncommittedEntriesBytes?: number;
  /** "safe" confirms each read with a heartbeat round; "lease" trusts check-quorum. Default "safe". */
  readOnly?: ReadOnlyOption;
  /** Index already applied by the application at startup (≥ the storage snapshot index). Default 0. */
  applied?: number;
  /** Randomness for election timeouts. Default: xoshiro128** seeded from `id` (deterministic). */
  rand?: Rand;
}

/** A validated configuration with every default filled in. */
export type ResolvedRaftConfig = Required<RaftConfig>;

/** Fills in defaults and validates; throws {@link ValidationError} naming the bad field. */
export function resolveConfig(cfg: RaftConfig): ResolvedRaftConfig {
  const r: ResolvedRaftConfig = {
    id: cfg.id,
    electionTicks: cfg.electionTicks ?? 10,
    heartbeatTicks: cfg.heartbeatTicks ?? 1,
    preVote: cfg.preVote ?? true,
    checkQuorum: cfg.checkQuorum ?? true,
    maxSizePerMsgBytes: cfg.maxSizePerMsgBytes ?? 1024 * 1024,
    maxInflightMsgs: cfg.maxInflightMsgs ?? 256,
    snapshotChunkBytes: cfg.snapshotChunkBytes ?? 512 * 1024,
    maxInflightSnapshotChunks: cfg.maxInflightSnapshotChunks ?? 4,
    maxCommittedSizePerReadyBytes: cfg.maxCommittedSizePerReadyBytes ?? 8 * 1024 * 1024,
    maxUncommittedEntriesBytes: cfg.maxUncommittedEntriesBytes ?? 64 * 1024 * 1024,
    readOnly: cfg.readOnly ?? "safe",
    applied: cfg.applied ?? 0,
    rand: cfg.rand ?? xoshiro128(seedFromString(cfg.id)),
  };
  if (typeof r.id !== "string" || r.id === "") {
    throw new ValidationError("id", "must be a non-empty string");
  }
  const positiveInt = (field: keyof ResolvedRaftConfig, min: number) => {
    const v = r[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new ValidationError(field, `must be an integer ≥ ${min}, got ${String(v)}`);
    }
  };
  positiveInt("heartbeatTicks", 1);
  positiveInt("electionTicks", 1);
  if (r.electionTicks <= r.heartbeatTicks) {
    throw new ValidationError(
      "electionTicks",
      `must be greater than heartbeatTicks (${r.heartbeatTicks}), got ${r.electionTicks}`,
    );
  }
  positiveInt("maxSizePerMsgBytes", 0);
  positiveInt("maxInflightMsgs", 1);
  positiveInt("snapshotChunkBytes", 1);
  positiveInt("maxInflightSnapshotChunks", 1);
  positiveInt("maxCommittedSizePerReadyBytes", 1);
  positiveInt("maxUncommittedEntriesBytes", 0);
  positiveInt("applied", 0);
  if (r.readOnly !== "safe" && r.readOnly !== "lease") {
    throw new ValidationError("readOnly", `must be "safe" or "lease", got ${String(r.readOnly)}`);
  }
  if (r.readOnly === "lease" && !r.checkQuorum) {
    throw new ValidationError("readOnly", `"lease" reads are only safe with checkQuorum enabled`);
  }
  if (typeof r.rand !== "function") throw new ValidationError("rand", "must be a function");
  return r;
}

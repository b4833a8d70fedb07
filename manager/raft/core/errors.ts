/**
 * Operational errors of the Raft core, as Warren's typed errors (proto/errors.ts). Storage read
 * errors are ordinary signals the core handles (e.g. a compacted index makes the leader send a
 * snapshot); proposal errors reach the caller.
 * @module
 */
import { FailedPreconditionError, UnavailableError, WarrenError } from "../../../proto/errors.ts";

/** The requested index is older than the storage's first index: it was compacted into a snapshot. */
export class CompactedError extends WarrenError {
  constructor(index: number, firstIndex: number) {
    super("failed_precondition", `log index ${index} is compacted (first index is ${firstIndex})`);
  }
}

/** The requested index is newer than the storage's last index. */
export class LogUnavailableError extends WarrenError {
  constructor(index: number, lastIndex: number) {
    super("unavailable", `log index ${index} is unavailable (last index is ${lastIndex})`, {
      retryable: true,
    });
  }
}

/** The snapshot to apply or create is older than the one storage already holds. */
export class SnapshotOutOfDateError extends WarrenError {
  constructor(index: number, current: number) {
    super(
      "failed_precondition",
      `snapshot at index ${index} is older than the current one at ${current}`,
    );
  }
}

/** The storage is producing a snapshot; the leader retries sending one later. */
export class SnapshotTemporarilyUnavailableError extends UnavailableError {
  constructor() {
    super("snapshot is temporarily unavailable");
  }
}

/**
 * A proposal (entry, configuration change, leadership transfer or read) was dropped: no leader is
 * known, leadership is being transferred, or this node was removed. Retry later, maybe elsewhere.
 */
export class ProposalDroppedError extends UnavailableError {
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
  }
}

/** A membership change was proposed while another one is not yet applied (thesis §4.1). */
export class ConfChangePendingError extends FailedPreconditionError {
  constructor(pendingIndex: number) {
    super(
      `a membership change at index ${pendingIndex} is not applied yet; propose one change at a time`,
    );
  }
}

/**
 * The leader's view of one follower's log (Figure 2 matchIndex/nextIndex) plus flow control:
 *
 * - probe: one MsgApp at a time until the follower's match point is found (after a rejection,
 *   at election, or after a snapshot);
 * - replicate: pipelined, optimistic nextIndex, bounded by the inflights window;
 * - snapshot: the follower needs a snapshot; a chunked transfer is in progress, no MsgApp.
 * @module
 */
import { Inflights } from "./inflights.ts";
import type { Snapshot } from "./types.ts";

/** Flow-control state of a follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** A chunked snapshot being sent to one follower. */
export interface SnapshotTransfer {
  snapshot: Snapshot;
  /** Bytes sent so far (next chunk offset). */
  sentBytes: number;
  /** Bytes the follower acknowledged holding. */
  ackedBytes: number;
  /** Whether the last chunk was sent (since the last rewind). */
  doneSent: boolean;
  /** `ackedBytes` at the previous heartbeat response: no progress since means "resend". */
  ackedAtLastHeartbeat: number;
}

/** Replication progress of one peer, as tracked by the leader. */
export class Progress {
  /** Highest index known replicated on the peer. */
  match = 0;
  /** Highest commit index sent to the follower (in a MsgApp or heartbeat). */
  sentCommit = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = "probe";
  /** In snapshot state: index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Whether the peer was heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: a probe is outstanding, so do not send another. */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;
  transfer: SnapshotTransfer | undefined = undefined;

  constructor(opts: { next: number; maxInflight: number; isLearner: boolean; match?: number }) {
    this.next = opts.next;
    this.match = opts.match ?? 0;
    this.inflights = new Inflights(opts.maxInflight);
    this.isLearner = opts.isLearner;
  }

  #resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.transfer = undefined;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      // The follower may have installed the snapshot: do not probe below it.
      const pending = this.pendingSnapshot;
      this.#resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.#resetState("snapshot");
    this.pendingSnapshot = snapshot.meta.index;
    this.transfer = {
      snapshot,
      sentBytes: 0,
      ackedBytes: 0,
      doneSent: false,
      ackedAtLastHeartbeat: -1,
    };
  }

  /** Records an acknowledgement up to `n`; returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Pipelining: assume entries up to `n` will be accepted. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * Handles a rejection of the MsgApp at `rejected`; `matchHint` is the highest index that may
   * match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  /** Whether sending MsgApp to this peer must wait. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}

/**
 * RaftCore: the API of the pure Raft core for its I/O shell (as etcd-io/raft's RawNode). The
 * shell feeds it ticks, network messages and proposals, and drains {@link Ready} batches.
 * @module
 */
import { ValidationError } from "../../../proto/errors.ts";
import { decodeConfChange, encodeConfChange } from "./codec.ts";
import { type RaftConfig, resolveConfig } from "./config.ts";
import { ConfChangePendingError, ProposalDroppedError } from "./errors.ts";
import { isLocalMessage, isResponseMessage, type Message } from "./messages.ts";
import { Raft } from "./raft.ts";
import type { Ready } from "./ready.ts";
import type { ProgressStatus, Status } from "./status.ts";
import type { Storage } from "./storage.ts";
import {
  type ConfChange,
  type ConfState,
  type HardState,
  hardStateEqual,
  type NodeId,
  NONE,
  type SoftState,
} from "./types.ts";

/** One node's Raft core. Single-threaded: call methods from one task, never concurrently. */
export class RaftCore {
  readonly #r: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;

  /** Creates a core over `storage` (which it only reads); throws ValidationError for bad config. */
  constructor(config: RaftConfig, storage: Storage) {
    this.#r = new Raft(resolveConfig(config), storage);
    this.#prevSoft = this.#r.softState();
    this.#prevHard = this.#r.hardState();
  }

  /** This node's ID. */
  get id(): NodeId {
    return this.#r.id;
  }

  /** Advances logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.#r.tick();
  }

  /** Starts an election now (with pre-vote if configured). No-op for leaders and non-voters. */
  campaign(): void {
    this.#r.hup(this.#r.cfg.preVote ? "preElection" : "election");
  }

  /**
   * Proposes an application command. The leader appends it; followers forward it to the leader.
   * Throws ProposalDroppedError when no leader is known, during a leadership transfer, or when
   * too many entries are uncommitted. Acceptance is not commitment: watch committedEntries.
   */
  propose(data: Uint8Array): void {
    this.#r.step({
      type: "MsgProp",
      from: this.#r.id,
      to: NONE,
      term: 0,
      entries: [{ index: 0, term: 0, type: "normal", data }],
    });
  }

  /**
   * Proposes several application commands as one proposal (one MsgProp with many entries), in
   * order: one append and one round of MsgApp for the lot instead of one per command. All or
   * none are accepted: throws like {@link propose}, and then nothing was appended.
   */
  proposeMany(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    this.#r.step({
      type: "MsgProp",
      from: this.#r.id,
      to: NONE,
      term: 0,
      entries: datas.map((data) => ({ index: 0, term: 0, type: "normal" as const, data })),
    });
  }

  /**
   * Proposes one membership change (thesis §4.1: one server at a time). On the leader, throws
   * ConfChangePendingError while a previous change is not applied, and ValidationError for a
   * change that cannot apply (removing a non-member or the last voter).
   */
  proposeConfChange(cc: ConfChange): void {
    const r = this.#r;
    if (typeof cc.nodeId !== "string" || cc.nodeId === NONE) {
      throw new ValidationError("confChange.nodeId", "must be a non-empty node ID");
    }
    if (r.role === "leader") {
      if (r.pendingConfIndex > r.log.applied) throw new ConfChangePendingError(r.pendingConfIndex);
      const t = r.tracker;
      if (cc.type === "removeNode" && !t.progress.has(cc.nodeId)) {
        throw new ValidationError("confChange.nodeId", `node ${cc.nodeId} is not a member`);
      }
      if (
        (cc.type === "removeNode" || cc.type === "addLearner") && t.isVoter(cc.nodeId) &&
        t.voters.length === 1
      ) {
        throw new ValidationError("confChange.nodeId", `node ${cc.nodeId} is the last voter`);
      }
    }
    r.step({
      type: "MsgProp",
      from: r.id,
      to: NONE,
      term: 0,
      entries: [{ index: 0, term: 0, type: "confChange", data: encodeConfChange(cc) }],
    });
  }

  /**
   * Asks the leader to hand leadership to voter `transferee` (§3.10); proposals are refused until
   * it finishes or is aborted after an election timeout.
   */
  transferLeader(transferee: NodeId): void {
    const r = this.#r;
    if (r.role === "leader" && !r.tracker.isVoter(transferee)) {
      throw new ValidationError("transferee", `node ${transferee} is not a voter`);
    }
    r.step({ type: "MsgTransferLeader", from: transferee, to: r.id, term: 0 });
  }

  /**
   * Requests a linearizable read point for `context` (unique per request, non-empty). The answer
   * arrives as a Ready readState; the read may be served once its index is applied.
   */
  readIndex(context: string): void {
    if (context === "") throw new ValidationError("context", "must be non-empty");
    this.#r.step({ type: "MsgReadIndex", from: this.#r.id, to: NONE, term: 0, context });
  }

  /**
   * Handles a message from the network. Local report types are refused, responses from
   * non-members ignored, and proposals forwarded to a node that cannot take them dropped.
   */
  step(m: Message): void {
    if (isLocalMessage(m)) throw new ValidationError("message.type", `${m.type} is local-only`);
    if (isResponseMessage(m) && !this.#r.tracker.progress.has(m.from)) return;
    try {
      this.#r.step(m);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return;
      throw err;
    }
  }

  /** The transport could not reach `id`: stop pipelining to it until it answers. */
  reportUnreachable(id: NodeId): void {
    this.#r.step({ type: "MsgUnreachable", from: id, to: this.#r.id, term: 0 });
  }

  /** The transport reports that sending a snapshot to `id` failed or finished. */
  reportSnapshot(id: NodeId, status: "finish" | "failure"): void {
    this.#r.step({
      type: "MsgSnapStatus",
      from: id,
      to: this.#r.id,
      term: 0,
      reject: status === "failure",
    });
  }

  /** Whether ready() would return something to do. */
  hasReady(): boolean {
    const r = this.#r;
    if (r.commitUntold && r.role === "leader") return true;
    const soft = r.softState();
    if (soft.lead !== this.#prevSoft.lead || soft.role !== this.#prevSoft.role) return true;
    if (!hardStateEqual(r.hardState(), this.#prevHard)) return true;
    return r.log.unstable.snapshot !== undefined || r.log.unstable.entries.length > 0 ||
      r.msgs.length > 0 || r.readStates.length > 0 || r.log.hasNextCommittedEntries();
  }

  /** Collects the work for the shell; see {@link Ready} for the order to handle it in. */
  ready(): Ready {
    const r = this.#r;
    r.flushCommit();
    const soft = r.softState();
    const hard = r.hardState();
    const softChanged = soft.lead !== this.#prevSoft.lead || soft.role !== this.#prevSoft.role;
    const hardChanged = !hardStateEqual(hard, this.#prevHard);
    const entries = r.log.unstableEntries();
    const committedEntries = r.log.nextCommittedEntries();
    const rd: Ready = {
      softState: softChanged ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      entries,
      snapshot: r.log.unstable.snapshot,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      // A snapshot to install is acknowledged in this Ready's messages: it must be durable too.
      mustSync: entries.length > 0 || r.log.unstable.snapshot !== undefined ||
        hard.term !== this.#prevHard.term || hard.vote !== this.#prevHard.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.#prevSoft = soft;
    if (committedEntries.length > 0) {
      r.log.applyingTo(committedEntries[committedEntries.length - 1].index);
      if (r.role === "leader") r.reduceUncommittedSize(committedEntries);
    }
    return rd;
  }

  /**
   * Acknowledges that `rd` was persisted, sent and applied (see {@link Ready}). Applies the
   * membership changes among its committed entries.
   */
  advance(rd: Ready): void {
    const r = this.#r;
    if (rd.hardState) this.#prevHard = rd.hardState;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.appliedTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    for (const e of rd.committedEntries) {
      if (e.type === "confChange" && e.index > r.log.applied) {
        r.log.appliedTo(e.index - 1);
        r.applyConfChange(decodeConfChange(e.data));
      }
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1].index;
      if (last > r.log.applied) r.log.appliedTo(last);
    }
  }

  /** The membership configuration in effect (as of the applied index). */
  confState(): ConfState {
    return this.#r.tracker.confState();
  }

  /** A summary of this node's state. */
  status(): Status {
    const r = this.#r;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.role === "leader") {
      for (const [id, pr] of r.tracker.progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          paused: pr.isPaused(),
          inflight: pr.inflights.count,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          pendingSnapshot: pr.pendingSnapshot,
        };
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      config: r.tracker.confState(),
      progress,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
    };
  }
}

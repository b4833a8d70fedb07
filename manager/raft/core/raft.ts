/**
 * The Raft state machine of one node (after etcd-io/raft): roles, terms, elections with pre-vote
 * and check-quorum, and membership. Replication, snapshots and reads live in raft_*.ts modules as
 * functions over this class, and role-specific message handling in step_*.ts.
 *
 * Everything here is synchronous and deterministic: time is `tick()`, randomness the injected PRNG,
 * and output is appended to `msgs` / `readStates` for the shell to collect through a Ready.
 * @module
 */
import { invariant } from "./_assert.ts";
import { decodeConfChange } from "./codec.ts";
import type { ResolvedRaftConfig } from "./config.ts";
import { ProposalDroppedError } from "./errors.ts";
import { entriesSizeBytes } from "./log_util.ts";
import type { Message, MsgPreVote, MsgReadIndex, MsgVote } from "./messages.ts";
import { randomInt } from "./prng.ts";
import { bcastAppend, bcastHeartbeat, maybeCommit, maybeSendAppend } from "./raft_replication.ts";
import { RaftLog } from "./raft_log.ts";
import { ReadOnly } from "./read_only.ts";
import type { SnapshotReceive } from "./raft_snapshot.ts";
import type { Storage } from "./storage.ts";
import { stepCandidate, stepFollower } from "./step_follower.ts";
import { stepLeader } from "./step_leader.ts";
import { ProgressTracker } from "./tracker.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  NONE,
  type ReadState,
  type Role,
  type SoftState,
} from "./types.ts";

/** Why a campaign starts: pre-vote first, a real election, or a forced one for a transfer. */
export type CampaignKind = "preElection" | "election" | "transfer";

/** One node's Raft state. Fields are internal to the core; the shell uses RaftCore. */
export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedRaftConfig;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = "follower";
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Outbox, drained by each Ready. */
  msgs: Message[] = [];
  /**
   * Leader: the commit index advanced on an acknowledgement and the followers have not been told
   * yet. Told when the next Ready is collected ({@link flushCommit}), so a MsgApp with new entries
   * queued meanwhile carries it and no empty MsgApp is needed.
   */
  commitUntold = false;
  /** Confirmed reads, drained by each Ready. */
  readStates: ReadState[] = [];
  /** Whether this node is a learner in its own configuration. */
  isLearner = false;
  /** Node leadership is being transferred to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the latest membership change the leader proposed; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /** Bytes of proposed entries not yet committed (leader only), bounded by config. */
  uncommittedSizeBytes = 0;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout (followers: since the leader was last heard). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** ReadIndex requests waiting for the leader's first entry of its term to commit. */
  pendingReadIndexMessages: MsgReadIndex[] = [];
  /** Snapshot chunks received so far (followers). */
  snapReceive: SnapshotReceive | undefined = undefined;

  constructor(cfg: ResolvedRaftConfig, storage: Storage) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.log = new RaftLog(storage, cfg.maxCommittedSizePerReadyBytes);
    this.tracker = new ProgressTracker(cfg.maxInflightMsgs);
    this.readOnly = new ReadOnly(cfg.readOnly);
    const { hardState, confState } = storage.initialState();
    this.#restoreConfig(confState);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      invariant(
        hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        () =>
          `hard state commit ${hardState.commit} is outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
      this.log.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (cfg.applied > this.log.applied) {
      // Membership changes in (snapshot, applied] are not in the snapshot's ConfState: replay them.
      // Only those: the log may keep entries below the snapshot (compaction trails it), and the
      // changes there are in its ConfState already. Applying them again is not idempotent (a
      // change ignored when it applied, such as demoting the only voter, may take effect).
      invariant(
        cfg.applied <= this.log.committed,
        () => `applied ${cfg.applied} is beyond commit ${this.log.committed}`,
      );
      const from = Math.max(this.log.applied, storage.snapshot().meta.index) + 1;
      if (from <= cfg.applied) {
        for (const e of this.log.slice(from, cfg.applied + 1, Infinity)) {
          if (e.type === "confChange") this.applyConfChange(decodeConfChange(e.data));
        }
      }
      this.log.appliedTo(cfg.applied);
    }
    this.becomeFollower(this.term, NONE);
  }

  /** Volatile state. */
  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  /** State to persist. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Whether this node may become leader: a voter of its own configuration, with no unapplied snapshot. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.log.unstable.snapshot === undefined;
  }

  // ---- roles ----------------------------------------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
      this.snapReceive = undefined;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks +
      randomInt(this.cfg.rand, this.cfg.electionTicks);
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.recentActive = false;
    }
    this.pendingConfIndex = 0;
    this.uncommittedSizeBytes = 0;
    this.readOnly = new ReadOnly(this.cfg.readOnly);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  becomePreCandidate(): void {
    invariant(this.role !== "leader", "leader cannot become pre-candidate");
    // Pre-vote changes neither term nor vote (§9.6).
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = "preCandidate";
  }

  becomeCandidate(): void {
    invariant(this.role !== "leader", "leader cannot become candidate");
    this.#reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  becomeLeader(): void {
    invariant(this.role !== "follower", "follower cannot become leader without an election");
    this.#reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const pr = this.tracker.progress.get(this.id);
    invariant(pr !== undefined, "leader is not in its configuration");
    pr.becomeReplicate();
    pr.recentActive = true;
    // Conservatively, any unapplied entry may be a membership change: wait for it.
    this.pendingConfIndex = this.log.lastIndex();
    // A no-op of the new term: committing it commits every earlier entry (§5.4.2, §6.4).
    const ok = this.appendEntries([{ index: 0, term: 0, type: "normal", data: new Uint8Array() }]);
    invariant(ok, "the leader's empty entry was refused");
  }

  // ---- time -----------------------------------------------------------------------------------

  tick(): void {
    if (this.role === "leader") this.#tickHeartbeat();
    else this.#tickElection();
  }

  #tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.cfg.preVote ? "preElection" : "election");
    }
  }

  #tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.checkQuorum();
      // A transfer that did not finish within an election timeout is aborted (§3.10).
      if (this.role === "leader" && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== "leader") return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  /** Check-quorum: step down without recent contact with a quorum, then start a new round. */
  checkQuorum(): void {
    if (!this.tracker.quorumActive(this.id)) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
  }

  // ---- messages -------------------------------------------------------------------------------

  /** Appends a message to the outbox. */
  send(m: Message): void {
    this.msgs.push(m);
  }

  /**
   * Leader: tells followers the commit index that advanced since the last Ready (see
   * {@link commitUntold}), with an empty MsgApp to each that no MsgApp told yet, except one with
   * MsgApps in flight: its next MsgApp carries the commit, and the acknowledgement that empties
   * its window flags the commit again if none did. Followers thus learn the commit without a
   * message of its own while entries stream to them, and within a Ready when they go quiet.
   */
  flushCommit(): void {
    if (!this.commitUntold) return;
    this.commitUntold = false;
    if (this.role !== "leader") return;
    const committed = this.log.committed;
    for (const id of this.tracker.members) {
      const pr = this.tracker.progress.get(id);
      if (id === this.id || !pr || pr.sentCommit >= committed) continue;
      if (pr.state === "replicate" && pr.inflights.count > 0) continue;
      maybeSendAppend(this, id, true);
    }
  }

  /**
   * Handles one message: the term rules shared by all roles (§5.1, pre-vote §9.6, leader lease
   * §4.2.3), votes, then the role's handler. Throws ProposalDroppedError for a refused proposal.
   */
  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === "MsgVote" || m.type === "MsgPreVote") {
        const inLease = this.cfg.checkQuorum && this.lead !== NONE &&
          this.electionElapsed < this.cfg.electionTicks;
        // We heard from a leader within the minimum election timeout: ignore the disruption.
        if (!m.transfer && inLease) return;
      }
      if (m.type === "MsgPreVote") {
        // Never change term because of a pre-vote request.
      } else if (m.type === "MsgPreVoteResp" && !m.reject) {
        // The term is bumped when the pre-vote wins.
      } else if (m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term !== 0 && m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === "MsgHeartbeat" || m.type === "MsgApp")
      ) {
        // A stale leader (e.g. rejoining after a partition) learns our term and steps down; without
        // this it could never win (its pre-votes fail) nor hear of the new term.
        this.send({
          type: "MsgAppResp",
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          rejectHint: 0,
          logTerm: 0,
        });
      } else if (m.type === "MsgPreVote") {
        this.send({
          type: "MsgPreVoteResp",
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
        });
      }
      return;
    }
    if (m.type === "MsgVote" || m.type === "MsgPreVote") {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        stepLeader(this, m);
        return;
      case "candidate":
      case "preCandidate":
        stepCandidate(this, m);
        return;
      case "follower":
        stepFollower(this, m);
        return;
    }
  }

  #handleVoteRequest(m: MsgVote | MsgPreVote): void {
    const respType = m.type === "MsgVote" ? "MsgVoteResp" : "MsgPreVoteResp";
    const canVote = this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === "MsgPreVote" && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Grants carry the requested term so a pre-candidate can count them.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "MsgVote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- elections ------------------------------------------------------------------------------

  /** Starts an election unless leader, not promotable, or a membership change is still unapplied. */
  hup(kind: CampaignKind): void {
    if (this.role === "leader") return;
    if (!this.promotable()) return;
    if (this.#hasUnappliedConfChange()) return;
    this.campaign(kind);
  }

  #hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    for (const e of this.log.slice(lo, this.log.committed + 1, Infinity)) {
      if (e.type === "confChange") return true;
    }
    return false;
  }

  campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let term: number;
    let voteType: "MsgVote" | "MsgPreVote";
    if (kind === "preElection") {
      this.becomePreCandidate();
      voteType = "MsgPreVote";
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = "MsgVote";
      term = this.term;
    }
    if (this.poll(this.id, true) === "won") {
      // A single-voter configuration wins at once.
      if (kind === "preElection") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex(), logTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({
        type: voteType,
        from: this.id,
        to: id,
        term,
        index,
        logTerm,
        transfer: kind === "transfer",
      });
    }
  }

  /** Records a vote and returns the election's outcome so far. */
  poll(id: NodeId, granted: boolean): "pending" | "lost" | "won" {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // ---- proposals ------------------------------------------------------------------------------

  /**
   * Leader: assigns term and indexes to `ents` and appends them. Returns false (and appends nothing)
   * when the uncommitted-bytes bound would be exceeded.
   */
  appendEntries(ents: Entry[]): boolean {
    let li = this.log.lastIndex();
    const size = entriesSizeBytes(ents);
    const max = this.cfg.maxUncommittedEntriesBytes;
    // Always admit into an empty budget so a single large proposal cannot wedge the leader.
    if (max > 0 && this.uncommittedSizeBytes > 0 && this.uncommittedSizeBytes + size > max) {
      return false;
    }
    this.uncommittedSizeBytes += size;
    for (const e of ents) {
      e.term = this.term;
      e.index = ++li;
    }
    li = this.log.append(ents);
    this.tracker.progress.get(this.id)?.maybeUpdate(li);
    maybeCommit(this);
    return true;
  }

  /** Leader: committed entries handed to the application no longer count as uncommitted. */
  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSizeBytes === 0) return;
    this.uncommittedSizeBytes = Math.max(0, this.uncommittedSizeBytes - entriesSizeBytes(ents));
  }

  /** Drops a proposal with a reason, as the caller sees it. */
  dropProposal(reason: string): never {
    throw new ProposalDroppedError(reason);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- membership -----------------------------------------------------------------------------

  #restoreConfig(cs: ConfState): void {
    this.tracker.reset(cs, this.log.lastIndex() + 1);
    const self = this.tracker.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    self?.maybeUpdate(this.log.lastIndex());
  }

  /** Restores configuration from a snapshot's ConfState (followers, on restore). */
  restoreConfig(cs: ConfState): void {
    this.#restoreConfig(cs);
  }

  /**
   * Applies a committed membership change (single-server, thesis §4.1). Called in index order when
   * the application has applied the entry. Invalid changes (removing a non-member or the last
   * voter) are ignored, identically on every node.
   */
  applyConfChange(cc: ConfChange): void {
    const t = this.tracker;
    const exists = t.progress.has(cc.nodeId);
    switch (cc.type) {
      case "addNode":
        t.setMember(cc.nodeId, false, Math.max(this.log.lastIndex(), 1));
        break;
      case "addLearner":
        if (t.isVoter(cc.nodeId) && t.voters.length === 1) return;
        t.setMember(cc.nodeId, true, Math.max(this.log.lastIndex(), 1));
        break;
      case "removeNode":
        if (!exists || (t.isVoter(cc.nodeId) && t.voters.length === 1)) return;
        t.removeMember(cc.nodeId);
        break;
    }
    const self = t.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    if (this.role !== "leader") {
      // Our leader left the configuration: it leads no more, so its vote lease (§4.2.3) must not
      // stop the remaining voters from electing a successor.
      if (cc.type !== "addNode" && cc.nodeId === this.lead) this.lead = NONE;
      return;
    }
    if (self === undefined || self.isLearner) {
      // Removed or demoted leader (§4.2.2): the change is committed (followers learned that with
      // the commit index), so step down and stop replicating.
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !t.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum changed: something may now be committed, and new members need the log.
    if (maybeCommit(this)) bcastAppend(this);
    else bcastAppend(this, { onlyIfNew: true });
  }
}

/**
 * The membership configuration (voters and learners) plus the leader's {@link Progress} of every
 * member and the votes of the current election.
 * @module
 */
import { invariant } from "./_assert.ts";
import { Progress } from "./progress.ts";
import { committedIndex, type VoteResult, voteResult } from "./quorum.ts";
import type { ConfState, NodeId } from "./types.ts";

/** Configuration, progress and votes. Member IDs are kept sorted for deterministic output. */
export class ProgressTracker {
  readonly maxInflight: number;
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  /** Voters then learners, sorted. */
  members: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  /** Replaces the configuration; every member gets a fresh progress starting at `next`. */
  reset(cs: ConfState, next: number): void {
    this.progress.clear();
    this.voters = [...new Set(cs.voters)].sort();
    this.learners = [...new Set(cs.learners)].filter((id) => !this.voters.includes(id)).sort();
    for (const id of this.voters) this.progress.set(id, this.#newProgress(next, false));
    for (const id of this.learners) this.progress.set(id, this.#newProgress(next, true));
    this.#refreshMembers();
  }

  #newProgress(next: number, isLearner: boolean): Progress {
    return new Progress({ next, maxInflight: this.maxInflight, isLearner });
  }

  #refreshMembers(): void {
    this.members = [...this.voters, ...this.learners].sort();
  }

  /** Adds a member (or changes its kind). New progress starts at `next` and counts as active. */
  setMember(id: NodeId, isLearner: boolean, next: number): void {
    let pr = this.progress.get(id);
    if (!pr) {
      pr = this.#newProgress(next, isLearner);
      // Give a new member a chance to talk before check-quorum counts it as silent.
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    pr.isLearner = isLearner;
    this.voters = this.voters.filter((v) => v !== id);
    this.learners = this.learners.filter((v) => v !== id);
    (isLearner ? this.learners : this.voters).push(id);
    this.voters.sort();
    this.learners.sort();
    this.#refreshMembers();
  }

  /** Removes a member. */
  removeMember(id: NodeId): void {
    this.progress.delete(id);
    this.votes.delete(id);
    this.voters = this.voters.filter((v) => v !== id);
    this.learners = this.learners.filter((v) => v !== id);
    this.#refreshMembers();
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** The configuration as a {@link ConfState}. */
  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  /** Whether this is a one-voter configuration. */
  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  /** The index a majority of voters have replicated. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a majority of voters were recently active (check-quorum). */
  quorumActive(selfId: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      invariant(pr !== undefined, `voter ${id} has no progress`);
      active.set(id, id === selfId || pr.recentActive);
    }
    return voteResult(this.voters, active) === "won";
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote unless it already voted. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes of the current election. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0, rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}

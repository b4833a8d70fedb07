/**
 * Message handling of the leader: proposals, reads, replication acknowledgements, heartbeat
 * responses, snapshot progress, transport reports and leadership transfer (§3.10).
 * @module
 */
import { invariant } from "./_assert.ts";
import { ConfChangePendingError } from "./errors.ts";
import type { Message, MsgAppResp, MsgProp, MsgTransferLeader } from "./messages.ts";
import type { Progress } from "./progress.ts";
import type { Raft } from "./raft.ts";
import { leaderReadIndex, readIndexHeartbeatAck } from "./raft_read.ts";
import { bcastAppend, maybeCommit, maybeSendAppend, sendAppend } from "./raft_replication.ts";
import { handleSnapAck, maybeResumeSnapshot } from "./raft_snapshot.ts";
import { type NodeId, NONE } from "./types.ts";

/** Leader's message handler (after the shared term checks in Raft.step). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case "MsgProp":
      leaderPropose(r, m);
      return;
    case "MsgReadIndex":
      leaderReadIndex(r, m);
      return;
  }
  const pr = r.tracker.progress.get(m.from);
  if (!pr) return;
  switch (m.type) {
    case "MsgAppResp":
      handleAppendResponse(r, pr, m);
      return;
    case "MsgHeartbeatResp":
      pr.recentActive = true;
      pr.probeSent = false;
      // The follower is alive: free a window slot so a lost MsgApp cannot stall it forever.
      if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.state === "snapshot") maybeResumeSnapshot(r, m.from, pr);
      else if (pr.match < r.log.lastIndex()) sendAppend(r, m.from);
      readIndexHeartbeatAck(r, m);
      return;
    case "MsgSnapAck":
      pr.recentActive = true;
      handleSnapAck(r, pr, m);
      return;
    case "MsgSnapStatus":
      if (pr.state !== "snapshot") return;
      // Failure: forget the snapshot, probe again (a new transfer starts if still needed).
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      pr.probeSent = true;
      return;
    case "MsgUnreachable":
      if (pr.state === "replicate") pr.becomeProbe();
      return;
    case "MsgTransferLeader":
      handleTransferLeader(r, pr, m);
      return;
  }
}

function leaderPropose(r: Raft, m: MsgProp): void {
  invariant(m.entries.length > 0, "empty proposal");
  if (!r.tracker.progress.has(r.id)) r.dropProposal("this node was removed from the configuration");
  if (r.leadTransferee !== NONE) {
    r.dropProposal(`leadership is being transferred to ${r.leadTransferee}`);
  }
  const local = m.from === r.id || m.from === NONE;
  // A node outside the configuration (a removed manager still running) may not write to the log
  // it left (thesis §4.2.3: removed servers must not disrupt the cluster).
  if (!local && !r.tracker.progress.has(m.from)) {
    r.dropProposal(`node ${m.from} is not a member of the configuration`);
  }
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (e.type !== "confChange") continue;
    if (r.pendingConfIndex > r.log.applied) {
      if (local) throw new ConfChangePendingError(r.pendingConfIndex);
      // A forwarded change cannot be refused to its proposer: it becomes a no-op entry.
      m.entries[i] = { index: 0, term: 0, type: "normal", data: new Uint8Array() };
    } else {
      r.pendingConfIndex = r.log.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntries(m.entries)) r.dropProposal("too many uncommitted entries");
  bcastAppend(r);
}

function handleAppendResponse(r: Raft, pr: Progress, m: MsgAppResp): void {
  pr.recentActive = true;
  if (m.reject) {
    let next = m.rejectHint;
    // Fast back-off: skip every entry of ours whose term the follower cannot have at that index.
    if (m.logTerm > 0) next = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, next)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const oldPaused = pr.isPaused();
  // A follower in the middle of a snapshot transfer that already has everything the snapshot
  // covers (it answers the first chunk with its commit index) ends the transfer even when its
  // match does not move: else the leader would resend that snapshot forever, while the entries
  // after it may be compacted meanwhile and need a newer one.
  const covered = pr.state === "snapshot" && pr.pendingSnapshot > 0 &&
    m.index >= pr.pendingSnapshot;
  if (
    !pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === "probe") && !covered
  ) return;
  switch (pr.state) {
    case "probe":
      pr.becomeReplicate();
      break;
    case "snapshot":
      // The follower restored (or did not need) the snapshot. Continue from the log if we still
      // have what follows its match, else probe, which starts a transfer of a newer snapshot.
      if (pr.match + 1 >= r.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else {
        pr.becomeProbe();
      }
      break;
    case "replicate":
      pr.inflights.freeLE(m.index);
      break;
  }
  // A new commit index reaches the followers when the Ready is collected (Raft.flushCommit):
  // riding on the MsgApp of proposals made meanwhile, or in an empty one.
  if (maybeCommit(r)) r.commitUntold = true;
  else if (oldPaused) sendAppend(r, m.from);
  // Fill the window: send what is ready without waiting for the next proposal.
  while (maybeSendAppend(r, m.from, false));
  // A follower not told the commit yet, whose window this acknowledgement emptied, is told at
  // the next Ready (Raft.flushCommit skips followers with MsgApps in flight).
  if (pr.sentCommit < r.log.committed) r.commitUntold = true;
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

function handleTransferLeader(r: Raft, pr: Progress, m: MsgTransferLeader): void {
  if (pr.isLearner) return;
  const transferee = m.from;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return;
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return;
  // The transfer must finish within an election timeout (checked in tick).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, transferee);
  else sendAppend(r, transferee);
}

/** Tells `to` (caught up) to start an election at once (§3.10). */
export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: "MsgTimeoutNow", from: r.id, to, term: r.term });
}

/**
 * Log replication (§5.3): the leader's MsgApp and heartbeats with per-follower flow control, the
 * commit rule (§5.4.2), and the follower's handling of MsgApp and heartbeats.
 * @module
 */
import {
  CompactedError,
  LogUnavailableError,
  SnapshotTemporarilyUnavailableError,
} from "./errors.ts";
import type { MsgApp, MsgHeartbeat } from "./messages.ts";
import type { Raft } from "./raft.ts";
import { releasePendingReadIndexMessages } from "./raft_read.ts";
import { sendSnapshotChunks } from "./raft_snapshot.ts";
import type { NodeId } from "./types.ts";

/**
 * Sends the next MsgApp to `to` if its progress allows; switches to sending a snapshot when the
 * entries it needs are compacted. With `sendIfEmpty` false, sends only when there are new entries.
 * Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.termOrUndefined(prevIndex);
  let ents: MsgApp["entries"] | undefined;
  if (prevTerm !== undefined) {
    try {
      ents = r.log.entries(pr.next, r.cfg.maxSizePerMsgBytes);
    } catch (err) {
      if (!(err instanceof CompactedError || err instanceof LogUnavailableError)) throw err;
      ents = undefined;
    }
  }
  if (prevTerm === undefined || ents === undefined) {
    // The follower needs entries we no longer have: send a snapshot (§7), but only to a follower
    // that answered recently, since a transfer is expensive.
    if (!pr.recentActive) return false;
    let snap;
    try {
      snap = r.log.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) return false;
      throw err;
    }
    if (snap.meta.index === 0) return false;
    pr.becomeSnapshot(snap);
    sendSnapshotChunks(r, to, pr);
    return true;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  if (ents.length > 0) {
    const last = ents[ents.length - 1].index;
    if (pr.state === "replicate") {
      // Pipelining: optimistically assume success and keep sending within the window.
      pr.optimisticUpdate(last);
      pr.inflights.add(last);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    }
  }
  if (r.log.committed > pr.sentCommit) pr.sentCommit = r.log.committed;
  r.send({
    type: "MsgApp",
    from: r.id,
    to,
    term: r.term,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.log.committed,
  });
  return true;
}

/** Sends MsgApp to `to` (an empty one if nothing is new, to carry the commit index). */
export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/** Sends MsgApp to every other member. */
export function bcastAppend(r: Raft, opts: { onlyIfNew?: boolean } = {}): void {
  for (const id of r.tracker.members) {
    if (id !== r.id) maybeSendAppend(r, id, !opts.onlyIfNew);
  }
}

/** Sends a heartbeat to `to`, with a commit index it is known to have (never beyond its match). */
export function sendHeartbeat(r: Raft, to: NodeId, context: string): void {
  const pr = r.tracker.progress.get(to);
  const commit = Math.min(pr?.match ?? 0, r.log.committed);
  if (pr && commit > pr.sentCommit) pr.sentCommit = commit;
  r.send({ type: "MsgHeartbeat", from: r.id, to, term: r.term, commit, context });
}

/** Heartbeats to every other member, carrying the newest pending read's context. */
export function bcastHeartbeat(r: Raft, context = r.readOnly.lastPendingRequestContext()): void {
  for (const id of r.tracker.members) {
    if (id !== r.id) sendHeartbeat(r, id, context);
  }
}

/**
 * Advances the commit index to what a quorum of voters has, if that entry is of the current term
 * (§5.4.2, Figure 8). Returns whether it advanced.
 */
export function maybeCommit(r: Raft): boolean {
  const advanced = r.log.maybeCommit(r.tracker.committed(), r.term);
  if (advanced && r.pendingReadIndexMessages.length > 0) releasePendingReadIndexMessages(r);
  return advanced;
}

/** Follower: handles MsgApp (§5.3 consistency check, fast back-off hint on rejection). */
export function handleAppendEntries(r: Raft, m: MsgApp): void {
  if (m.index < r.log.committed) {
    r.send({
      type: "MsgAppResp",
      from: r.id,
      to: m.from,
      term: r.term,
      index: r.log.committed,
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send({
      type: "MsgAppResp",
      from: r.id,
      to: m.from,
      term: r.term,
      index: lastNew,
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
    return;
  }
  // Reject with a hint: the largest index ≤ m.index whose term is ≤ m.logTerm, so the leader
  // skips a whole conflicting term per round trip instead of one entry.
  const hintIndex = Math.min(m.index, r.log.lastIndex());
  const hint = r.log.findConflictByTerm(hintIndex, m.logTerm);
  r.send({
    type: "MsgAppResp",
    from: r.id,
    to: m.from,
    term: r.term,
    index: m.index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

/** Follower: handles a heartbeat (commit what we are known to have, echo the read context). */
export function handleHeartbeat(r: Raft, m: MsgHeartbeat): void {
  r.log.commitTo(m.commit);
  // A snapshot transfer may be stuck on a lost resend request (or on our restart): allow one more
  // request per heartbeat, so the leader learns the offset we actually need.
  if (r.snapReceive) r.snapReceive.requestedAt = -1;
  r.send({ type: "MsgHeartbeatResp", from: r.id, to: m.from, term: r.term, context: m.context });
}

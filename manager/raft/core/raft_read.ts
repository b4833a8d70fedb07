/**
 * Linearizable reads (§6.4). The leader records its commit index for the read, confirms it is
 * still the leader (a heartbeat round acknowledged by a quorum, or the check-quorum lease), and
 * only then returns the index; the read is served once the application has applied it. Until its
 * first entry of the term is committed a new leader does not know the commit index, so reads wait.
 * @module
 */
import type { MsgHeartbeatResp, MsgReadIndex } from "./messages.ts";
import { voteResult } from "./quorum.ts";
import type { Raft } from "./raft.ts";
import { bcastHeartbeat } from "./raft_replication.ts";
import { NONE } from "./types.ts";

/** Whether the leader's commit index is of its own term (it committed its first entry). */
export function committedEntryInCurrentTerm(r: Raft): boolean {
  return r.log.termOrUndefined(r.log.committed) === r.term;
}

/** Leader: handles a ReadIndex request (local or forwarded). */
export function leaderReadIndex(r: Raft, m: MsgReadIndex): void {
  if (r.tracker.isSingleton()) {
    // A single voter is its own quorum.
    respondToReadIndex(r, m, r.log.committed);
    return;
  }
  if (!committedEntryInCurrentTerm(r)) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendReadIndexResponse(r, m);
}

function sendReadIndexResponse(r: Raft, m: MsgReadIndex): void {
  if (r.readOnly.option === "lease") {
    respondToReadIndex(r, m, r.log.committed);
    return;
  }
  r.readOnly.addRequest(r.log.committed, m);
  r.readOnly.recvAck(r.id, m.context);
  bcastHeartbeat(r, m.context);
}

/** Leader: its first entry of the term committed; serve the reads that waited for it. */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (!committedEntryInCurrentTerm(r)) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendReadIndexResponse(r, m);
}

/** Leader: a heartbeat response acknowledges a pending read; answer the confirmed ones. */
export function readIndexHeartbeatAck(r: Raft, m: MsgHeartbeatResp): void {
  if (r.readOnly.option !== "safe" || m.context === "") return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks || voteResult(r.tracker.voters, acks) !== "won") return;
  for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
}

function respondToReadIndex(r: Raft, req: MsgReadIndex, index: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, context: req.context });
    return;
  }
  r.send({
    type: "MsgReadIndexResp",
    from: r.id,
    to: req.from,
    term: r.term,
    index,
    context: req.context,
  });
}

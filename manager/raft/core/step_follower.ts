/**
 * Message handling of followers and (pre-)candidates.
 * @module
 */
import type { Message } from "./messages.ts";
import type { Raft } from "./raft.ts";
import { bcastAppend, handleAppendEntries, handleHeartbeat } from "./raft_replication.ts";
import { handleSnapshotChunk } from "./raft_snapshot.ts";
import { NONE } from "./types.ts";

/** Follower's message handler (after the shared term checks in Raft.step). */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case "MsgProp":
    case "MsgTransferLeader":
    case "MsgReadIndex":
      // Forward to the leader; requests keep term 0 so they are not bound to our term.
      if (r.lead === NONE) r.dropProposal("no leader is known");
      r.send({ ...m, to: r.lead });
      return;
    case "MsgApp":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case "MsgHeartbeat":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case "MsgSnap":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshotChunk(r, m);
      return;
    case "MsgTimeoutNow":
      // Leadership transfer: campaign now, skipping pre-vote and the others' leader lease.
      r.hup("transfer");
      return;
    case "MsgReadIndexResp":
      r.readStates.push({ index: m.index, context: m.context });
      return;
  }
}

/** Candidate's and pre-candidate's message handler. */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.role === "preCandidate" ? "MsgPreVoteResp" : "MsgVoteResp";
  switch (m.type) {
    case "MsgProp":
    case "MsgReadIndex":
    case "MsgTransferLeader":
      r.dropProposal("no leader: an election is in progress");
      return;
    case "MsgApp":
      // A leader of our term exists (§5.2): step down.
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case "MsgHeartbeat":
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case "MsgSnap":
      r.becomeFollower(m.term, m.from);
      handleSnapshotChunk(r, m);
      return;
    case "MsgVoteResp":
    case "MsgPreVoteResp": {
      if (m.type !== myVoteResp) return;
      const result = r.poll(m.from, !m.reject);
      if (result === "won") {
        if (r.role === "preCandidate") {
          r.campaign("election");
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (result === "lost") {
        // Lost (pre-)election: back to follower at the same term, vote kept.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
  }
}

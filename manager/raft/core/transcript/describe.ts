/**
 * Human-readable one-line renderings of entries, messages, Ready batches and status, in the style
 * of etcd-io/raft's transcript tests. Transcript expectations depend on this format.
 * @module
 */
import { decodeConfChange } from "../codec.ts";
import type { Message } from "../messages.ts";
import type { Ready } from "../ready.ts";
import type { Status } from "../status.ts";
import type { ConfState, Entry, Role, SnapshotMeta } from "../types.ts";

const dec = new TextDecoder();

/** `term/index EntryNormal "data"` or `term/index EntryConfChange addNode 4`. */
export function describeEntry(e: Entry): string {
  if (e.type === "confChange") {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} EntryConfChange ${cc.type} ${cc.nodeId}`;
  }
  return `${e.term}/${e.index} EntryNormal ${JSON.stringify(dec.decode(e.data))}`;
}

/** `Voters:[1 2 3] Learners:[4]` */
export function describeConfState(cs: ConfState): string {
  return `Voters:[${cs.voters.join(" ")}] Learners:[${cs.learners.join(" ")}]`;
}

function describeMeta(m: SnapshotMeta): string {
  return `Index:${m.index} Term:${m.term} ${describeConfState(m.confState)}`;
}

/** `StateLeader` etc. */
export function describeRole(role: Role): string {
  return `State${role[0].toUpperCase()}${role.slice(1)}`;
}

/** One message on one line. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type}`;
  const term = m.term !== 0 ? ` Term:${m.term}` : "";
  const entries = (ents: Entry[]) => ` Entries:[${ents.map(describeEntry).join(", ")}]`;
  switch (m.type) {
    case "MsgApp":
      return `${head}${term} Log:${m.logTerm}/${m.index} Commit:${m.commit}${
        m.entries.length ? entries(m.entries) : ""
      }`;
    case "MsgAppResp":
      return `${head}${term} Index:${m.index}${
        m.reject ? ` Rejected (Hint: ${m.logTerm}/${m.rejectHint})` : ""
      }`;
    case "MsgVote":
    case "MsgPreVote":
      return `${head}${term} Log:${m.logTerm}/${m.index}${m.transfer ? " Transfer" : ""}`;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
    case "MsgSnapStatus":
      return `${head}${term}${m.reject ? " Rejected" : ""}`;
    case "MsgHeartbeat":
      return `${head}${term} Commit:${m.commit}${
        m.context ? ` Context:${JSON.stringify(m.context)}` : ""
      }`;
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
      return `${head}${term}${m.context ? ` Context:${JSON.stringify(m.context)}` : ""}`;
    case "MsgSnap":
      return `${head}${term} Snapshot:[${
        describeMeta(m.meta)
      }] Chunk:${m.offset}+${m.data.byteLength}/${m.totalBytes}${m.done ? " Done" : ""}`;
    case "MsgSnapAck":
      return `${head}${term} Snapshot:${m.snapTerm}/${m.snapIndex} Offset:${m.offset}${
        m.reject ? " Rejected" : ""
      }`;
    case "MsgReadIndexResp":
      return `${head}${term} Index:${m.index} Context:${JSON.stringify(m.context)}`;
    case "MsgProp":
      return `${head}${term}${entries(m.entries)}`;
    case "MsgUnreachable":
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return `${head}${term}`;
  }
}

/** A Ready batch, indented, one item per line. */
export function describeReady(rd: Ready): string[] {
  const out: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState) out.push(`Lead:${rd.softState.lead || "0"} ${describeRole(rd.softState.role)}`);
  if (rd.hardState) {
    const hs = rd.hardState;
    out.push(`HardState Term:${hs.term} Vote:${hs.vote || "0"} Commit:${hs.commit}`);
  }
  if (rd.snapshot) out.push(`Snapshot ${describeMeta(rd.snapshot.meta)}`);
  if (rd.entries.length) out.push("Entries:", ...rd.entries.map(describeEntry));
  if (rd.committedEntries.length) {
    out.push("CommittedEntries:", ...rd.committedEntries.map(describeEntry));
  }
  if (rd.messages.length) out.push("Messages:", ...rd.messages.map(describeMessage));
  if (rd.readStates.length) {
    out.push(
      "ReadStates:",
      ...rd.readStates.map((rs) => `Index:${rs.index} Context:${JSON.stringify(rs.context)}`),
    );
  }
  return out;
}

/** Status: a headline, plus the progress of each member on a leader. */
export function describeStatus(s: Status): string[] {
  const out = [
    `${s.id} is ${describeRole(s.role)} Term:${s.term} Lead:${
      s.lead || "0"
    } Commit:${s.commit} Applied:${s.applied} ` +
    `Log:[${s.firstIndex},${s.lastIndex}] ${describeConfState(s.config)}` +
    (s.leadTransferee ? ` Transferee:${s.leadTransferee}` : ""),
  ];
  for (const [id, p] of Object.entries(s.progress)) {
    const flags = [
      p.isLearner ? " learner" : "",
      p.paused ? " paused" : "",
      p.inflight ? ` inflight=${p.inflight}` : "",
      p.pendingSnapshot ? ` pendingSnapshot=${p.pendingSnapshot}` : "",
      p.recentActive ? "" : " inactive",
    ];
    out.push(
      `${id}: State${p.state[0].toUpperCase()}${p.state.slice(1)} match=${p.match} next=${p.next}${
        flags.join("")
      }`,
    );
  }
  return out;
}

/**
 * Snapshots (§7): a leader sends a follower whose entries are compacted a snapshot in chunks
 * (InstallSnapshot with offset/done), a window of chunks at a time, each acknowledged by MsgSnapAck;
 * the follower reassembles and restores it. A chunk out of order is answered with the offset the
 * follower expects; a transfer making no progress between two heartbeat responses is resumed from
 * the last acknowledged offset.
 * @module
 */
import type { MsgSnap, MsgSnapAck } from "./messages.ts";
import type { Progress } from "./progress.ts";
import type { Raft } from "./raft.ts";
import type { NodeId, Snapshot, SnapshotMeta } from "./types.ts";

/** A follower's partially received snapshot. */
export interface SnapshotReceive {
  meta: SnapshotMeta;
  from: NodeId;
  chunks: Uint8Array[];
  receivedBytes: number;
  /** Offset already asked for with a rejecting ack, or -1. */
  requestedAt: number;
}

/** Leader: sends the next chunks of the transfer to `to`, as the window allows. */
export function sendSnapshotChunks(r: Raft, to: NodeId, pr: Progress): void {
  const tr = pr.transfer;
  if (!tr) return;
  const data = tr.snapshot.data;
  const total = data.byteLength;
  const chunk = r.cfg.snapshotChunkBytes;
  const window = r.cfg.maxInflightSnapshotChunks * chunk;
  while (!tr.doneSent && tr.sentBytes - tr.ackedBytes < window) {
    const end = Math.min(total, tr.sentBytes + chunk);
    const done = end === total;
    r.send({
      type: "MsgSnap",
      from: r.id,
      to,
      term: r.term,
      meta: tr.snapshot.meta,
      offset: tr.sentBytes,
      totalBytes: total,
      data: data.subarray(tr.sentBytes, end),
      done,
    });
    tr.sentBytes = end;
    tr.doneSent = done;
  }
}

/** Leader: the follower acknowledged chunks (or asks to resend from an offset). */
export function handleSnapAck(r: Raft, pr: Progress, m: MsgSnapAck): void {
  const tr = pr.transfer;
  if (pr.state !== "snapshot" || !tr) return;
  if (tr.snapshot.meta.index !== m.snapIndex || tr.snapshot.meta.term !== m.snapTerm) return;
  if (m.reject) {
    tr.ackedBytes = m.offset;
    tr.sentBytes = m.offset;
    tr.doneSent = false;
  } else if (m.offset > tr.ackedBytes) {
    tr.ackedBytes = m.offset;
  }
  sendSnapshotChunks(r, m.from, pr);
}

/** Leader: on a heartbeat response, resume a transfer that made no progress since the last one. */
export function maybeResumeSnapshot(r: Raft, to: NodeId, pr: Progress): void {
  const tr = pr.transfer;
  if (pr.state !== "snapshot" || !tr) return;
  const stalled = tr.ackedBytes === tr.ackedAtLastHeartbeat &&
    (tr.sentBytes > tr.ackedBytes || tr.doneSent);
  tr.ackedAtLastHeartbeat = tr.ackedBytes;
  if (!stalled) return;
  tr.sentBytes = tr.ackedBytes;
  tr.doneSent = false;
  sendSnapshotChunks(r, to, pr);
}

/** Follower: handles one chunk; restores the snapshot when the last one arrives. */
export function handleSnapshotChunk(r: Raft, m: MsgSnap): void {
  const meta = m.meta;
  let rx = r.snapReceive;
  if (m.offset === 0) {
    if (meta.index <= r.log.committed) {
      // We already have everything it covers: tell the leader where we are instead.
      r.snapReceive = undefined;
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
    rx = r.snapReceive = { meta, from: m.from, chunks: [], receivedBytes: 0, requestedAt: -1 };
  } else {
    if (!rx || rx.from !== m.from || rx.meta.index !== meta.index || rx.meta.term !== meta.term) {
      rx = r.snapReceive = { meta, from: m.from, chunks: [], receivedBytes: 0, requestedAt: -1 };
    }
    if (m.offset !== rx.receivedBytes) {
      // Ask once per gap: the rest of a window in flight would otherwise each trigger a resend.
      // If this request is lost, the leader resumes on a stalled heartbeat round.
      if (rx.requestedAt !== rx.receivedBytes) {
        rx.requestedAt = rx.receivedBytes;
        sendSnapAck(r, m, rx.receivedBytes, true);
      }
      return;
    }
  }
  rx.requestedAt = -1;
  rx.chunks.push(m.data);
  rx.receivedBytes += m.data.byteLength;
  if (!m.done) {
    sendSnapAck(r, m, rx.receivedBytes, false);
    return;
  }
  r.snapReceive = undefined;
  if (rx.receivedBytes !== m.totalBytes) {
    sendSnapAck(r, m, 0, true);
    return;
  }
  const snapshot: Snapshot = { meta, data: concat(rx.chunks, rx.receivedBytes) };
  if (restore(r, snapshot)) {
    r.send({
      type: "MsgAppResp",
      from: r.id,
      to: m.from,
      term: r.term,
      index: r.log.lastIndex(),
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
  } else {
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
  }
}

function sendSnapAck(r: Raft, m: MsgSnap, offset: number, reject: boolean): void {
  r.send({
    type: "MsgSnapAck",
    from: r.id,
    to: m.from,
    term: r.term,
    snapIndex: m.meta.index,
    snapTerm: m.meta.term,
    offset,
    reject,
  });
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0].slice();
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * Follower: replaces log and configuration with `s` unless it is stale. Returns whether it did;
 * if our log already has the snapshot's last entry, only the commit index moves.
 */
export function restore(r: Raft, s: Snapshot): boolean {
  if (s.meta.index <= r.log.committed) return false;
  if (r.role !== "follower") {
    // Only a leader of our term sends snapshots, and it made us a follower; be defensive.
    r.becomeFollower(r.term + 1, "");
    return false;
  }
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    r.log.commitTo(s.meta.index);
    return false;
  }
  // A snapshot whose configuration lacks us is still restored: a new member may get a snapshot
  // taken before its addition and learn of itself from the entries that follow.
  r.log.restore(s);
  r.restoreConfig(s.meta.confState);
  return true;
}

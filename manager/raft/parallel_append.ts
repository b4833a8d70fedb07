/**
 * The leader's parallel append (Raft thesis §10.2.1): which messages of a Ready may leave before
 * the Ready's entries are durable on this node. Pure; the shell (node.ts) and the randomized
 * safety test (parallel_append_test.ts) share it.
 *
 * The Ready contract (core/ready.ts) sends messages only after persisting, so a leader's commit
 * waits for two disk writes in a row: its own, then a follower's. The thesis allows the leader to
 * write its log in parallel with replicating it, as long as the leader's own write counts toward
 * a quorum only once it is durable. This core counts the leader's match index at append time, so
 * the early messages are restricted to what is safe *given the shell's serial loop*:
 *
 * - the Ready has no snapshot and does not change term or vote (those were made durable by an
 *   earlier Ready, so a MsgApp in this Ready comes from the leader of a durable term);
 * - the commit index as of this Ready is below its first new entry, so no message carries a
 *   commit covering an entry not yet durable here (a single voter commits its own entries at
 *   once: it always takes the serial path);
 * - only MsgApp and MsgHeartbeat go early; votes, snapshot chunks, read-index answers and
 *   everything else still wait for the write.
 *
 * A follower's acknowledgement stepped while the write is in flight may advance the core's
 * commit over entries durable only on that follower, but that commit is acted on (MsgApp
 * carrying it, entries applied, callers answered, read states released) only through the next
 * Ready, which the shell takes after this write completed: by then the entries are durable here
 * and on the follower, a quorum. If the write fails the shell stops, and nothing more leaves.
 * @module
 */
import type { Message } from "./core/messages.ts";
import type { Ready } from "./core/ready.ts";
import type { HardState } from "./core/types.ts";

/**
 * Splits `rd.messages` into those that may be sent before `rd`'s writes are durable and those
 * that must wait. `durable` is the hard state last handed to storage before `rd` (its term and
 * vote are durable).
 */
export function splitEarlyMessages(
  rd: Ready,
  durable: HardState,
): { early: Message[]; afterPersist: Message[] } {
  if (!mayReplicateBeforePersist(rd, durable)) return { early: [], afterPersist: rd.messages };
  const early: Message[] = [];
  const afterPersist: Message[] = [];
  for (const m of rd.messages) {
    (m.type === "MsgApp" || m.type === "MsgHeartbeat" ? early : afterPersist).push(m);
  }
  return { early, afterPersist };
}

/** Whether `rd` meets the conditions of the module doc for sending MsgApp before persisting. */
export function mayReplicateBeforePersist(rd: Ready, durable: HardState): boolean {
  if (rd.entries.length === 0 || rd.snapshot) return false;
  const hs = rd.hardState ?? durable;
  if (hs.term !== durable.term || hs.vote !== durable.vote) return false;
  return hs.commit < rd.entries[0].index;
}

/**
 * Grows the Raft group safely: a joining manager enters as a learner; once its log has caught
 * up with the leader's commit index, the leader promotes it to voter (one change at a time, as
 * the core enforces). Runs on every manager and acts only while it leads.
 * @module
 */
import type { RaftNode } from "./raft/node.ts";

/** How far behind the commit index a learner may be and still be promoted. */
const CAUGHT_UP_ENTRIES = 50;

/** Starts the promotion loop; returns a function that stops it. */
export function promoteCaughtUpLearners(
  raft: RaftNode,
  onError: (err: unknown) => void,
  intervalMs = 200,
): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !raft.leader.isLeader) return;
    const st = raft.status();
    const learner = st.config.learners.find((id) => {
      const p = st.progress[id];
      return p !== undefined && p.match + CAUGHT_UP_ENTRIES >= st.commit && p.match > 0;
    });
    if (!learner) return;
    busy = true;
    try {
      await raft.promote(learner);
    } catch (err) {
      onError(err);
    } finally {
      busy = false;
    }
  }, intervalMs);
  return () => clearInterval(timer);
}

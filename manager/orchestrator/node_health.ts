/**
 * Node health from heartbeats (pure): a node silent for longer than the TTL is marked down,
 * except when every worker went silent at once, which points at the manager (its network, a
 * paused process, a new leader without sessions yet) rather than at the nodes.
 * @module
 */
import type { Node } from "../../proto/schema/mod.ts";

/** Inputs of {@link nodesToMarkDown}. */
export interface NodeHealthInput {
  nodes: readonly Node[];
  lastSeen: (nodeId: string) => number | undefined;
  now: number;
  /** When this manager became leader: sessions are only known since then. */
  leaderSince: number;
  downAfterMs: number;
}

/** Nodes to mark down (with when they were last seen), or the names of a mass silence. */
export function nodesToMarkDown(
  i: NodeHealthInput,
): { down: (Node & { lastSeen: number })[]; massSilence?: string[] } {
  const candidates: (Node & { lastSeen: number })[] = [];
  let watched = 0;
  for (const n of i.nodes) {
    if (n.status.state !== "ready") continue;
    // Managers too: only a worker session makes a node ready (a --manager-only manager stays
    // unknown), and every manager runs one unless told not to. Skipping managers without a
    // session here left a crashed leader "ready" for good, with its tasks "running", since the
    // new leader never had its session.
    const seen = i.lastSeen(n.id);
    watched++;
    const last = Math.max(seen ?? 0, i.leaderSince, n.status.lastHeartbeatAt);
    if (i.now - last > i.downAfterMs) candidates.push({ ...n, lastSeen: last });
  }
  if (candidates.length >= 2 && candidates.length === watched) {
    return { down: [], massSilence: candidates.map((n) => n.hostname) };
  }
  return { down: candidates };
}

/**
 * `tick-election ID`: ticks a follower or candidate until its randomized election timeout fires
 * (its role or term changes; at most 2*election ticks), and a leader for one election timeout
 * (which runs check-quorum and aborts a stuck leadership transfer).
 * @module
 */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function tickElection(env: Env, args: Args): void {
  const n = env.node(argNode(args));
  const election = n.config.electionTicks ?? 10;
  const before = n.core.status();
  if (before.role === "leader") {
    for (let i = 0; i < election; i++) n.core.tick();
    return;
  }
  for (let i = 0; i < 2 * election; i++) {
    n.core.tick();
    const s = n.core.status();
    if (s.role !== before.role || s.term !== before.term) return;
  }
}

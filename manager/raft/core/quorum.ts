/**
 * Majority quorum math over a set of voters: the committed index and the outcome of a vote.
 * @module
 */
import type { NodeId } from "./types.ts";

/** Outcome of an election or of a quorum check. */
export type VoteResult = "pending" | "lost" | "won";

/** Size of a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index that a majority of `voters` have (§5.3). Voters without a known match count as
 * 0. With no voters every index is "committed" (the caller combines it with other checks).
 */
export function committedIndex(
  voters: readonly NodeId[],
  matchOf: (id: NodeId) => number | undefined,
): number {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  const matched = new Float64Array(n);
  for (let i = 0; i < n; i++) matched[i] = matchOf(voters[i]) ?? 0;
  matched.sort(); // numeric ascending for typed arrays
  return matched[n - majority(n)];
}

/**
 * Outcome of a vote of `voters` given the `votes` received (true = granted). Won with a majority of
 * grants, lost once a majority can no longer be reached, pending otherwise. An empty set wins.
 */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  if (voters.length === 0) return "won";
  let granted = 0, missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return "won";
  if (granted + missing >= q) return "pending";
  return "lost";
}

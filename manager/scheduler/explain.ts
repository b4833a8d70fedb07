/**
 * Turns per-node rejections into one pending reason a user can act on:
 * `no suitable node (3 nodes: 2 lack 2 GiB memory, 1 is drained)`.
 * Reasons are grouped by text, most common first, and their leading verb is pluralized.
 * @module
 */

/** Most distinct reasons listed before the rest are summarized, keeping messages short. */
export const MAX_REASONS_SHOWN = 5;

const PLURAL: Record<string, string> = {
  is: "are",
  has: "have",
  lacks: "lack",
  does: "do",
  runs: "run",
};

/** Pluralizes the leading verb of a singular reason: `is drained` → `are drained`. */
export function pluralReason(reason: string): string {
  const space = reason.indexOf(" ");
  const verb = space < 0 ? reason : reason.slice(0, space);
  const plural = PLURAL[verb];
  return plural === undefined ? reason : plural + reason.slice(verb.length);
}

/** `count` followed by the reason, pluralized when count is not 1. */
function counted(count: number, reason: string): string {
  return `${count} ${count === 1 ? reason : pluralReason(reason)}`;
}

/**
 * The pending reason for a task no node accepted. `reasons` holds one entry per node: the
 * reason of the first filter that rejected it.
 */
export function explainNoNode(reasons: Iterable<string>): string {
  const counts = new Map<string, number>();
  let total = 0;
  for (const r of reasons) {
    counts.set(r, (counts.get(r) ?? 0) + 1);
    total++;
  }
  if (total === 0) return "no suitable node (the cluster has no nodes)";
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = sorted.slice(0, MAX_REASONS_SHOWN).map(([r, n]) => counted(n, r));
  const rest = sorted.slice(MAX_REASONS_SHOWN).reduce((sum, [, n]) => sum + n, 0);
  if (rest > 0) shown.push(`${rest} for other reasons`);
  return `no suitable node (${total} ${total === 1 ? "node" : "nodes"}: ${shown.join(", ")})`;
}

/** The pending reason for a task bound to one node (global services). */
export function explainOnNode(nodeName: string, reason: string): string {
  return `node ${nodeName} ${reason}`;
}

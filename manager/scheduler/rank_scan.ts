/**
 * `PlacementScan`: the {@link Ranker} for a service with only a few tasks to place and no spread
 * preference. Building a heap over every feasible node costs more than scanning them once per
 * task, so this ranker scans: O(n) per placement, nothing to build. Dynamic filters run only on
 * a node that beats the best one so far, so a full cluster costs one check per node, not n².
 * It hands out exactly the nodes a {@link PlacementTree} would (same order, same tie keys).
 * @module
 */
import type { NodeInfo } from "./node_info.ts";
import {
  drawSeed,
  type NodeOrder,
  nodeOrder,
  type Ranker,
  type RankOptions,
  tieKey,
  tieKeys,
} from "./rank.ts";

/** Most tasks of one service placed by scanning; above it, a heap is cheaper. */
export const SCAN_MAX_TASKS = 8;

/** Scans the feasible nodes for each task. */
export class PlacementScan implements Ranker {
  readonly #nodes: readonly NodeInfo[];
  readonly #dropped: Uint8Array;
  readonly #counts: Int32Array;
  readonly #before: NodeOrder | undefined;
  readonly #seed: number;

  /** Ranks `nodes` (the statically feasible ones); `opts.spreadLabels` must be empty. */
  constructor(nodes: readonly NodeInfo[], opts: RankOptions) {
    if (opts.spreadLabels.length > 0) throw new Error("PlacementScan takes no spread preferences");
    this.#nodes = nodes;
    this.#dropped = new Uint8Array(nodes.length);
    this.#counts = opts.serviceCounts;
    this.#seed = drawSeed(opts.rand);
    // Spread, the default, has an inlined loop below; binpack uses the shared comparator.
    this.#before = opts.strategy === "spread" ? undefined : nodeOrder(
      opts.strategy,
      opts.serviceCounts,
      tieKeys(nodes, opts.serviceCounts.length, this.#seed),
    );
  }

  /** See {@link Ranker.next}. */
  next(fits: (node: NodeInfo) => boolean, place: (node: NodeInfo) => void): NodeInfo | undefined {
    const best = this.#before ? this.#scan(fits, this.#before) : this.#scanSpread(fits);
    if (best === undefined) return undefined;
    place(best);
    this.#counts[best.index]!++;
    return best;
  }

  #scan(fits: (node: NodeInfo) => boolean, before: NodeOrder): NodeInfo | undefined {
    const nodes = this.#nodes, dropped = this.#dropped;
    let best: NodeInfo | undefined;
    for (let i = 0; i < nodes.length; i++) {
      if (dropped[i]) continue;
      const n = nodes[i]!;
      if (best !== undefined && !before(n, best)) continue;
      if (fits(n)) best = n;
      else dropped[i] = 1;
    }
    return best;
  }

  /** The spread order of `nodeOrder`, inlined: fewest of the service, fewest overall, tie key. */
  #scanSpread(fits: (node: NodeInfo) => boolean): NodeInfo | undefined {
    const nodes = this.#nodes, dropped = this.#dropped, counts = this.#counts, seed = this.#seed;
    let best: NodeInfo | undefined;
    let bestCount = 0, bestTasks = 0, bestTie = 0;
    for (let i = 0; i < nodes.length; i++) {
      if (dropped[i]) continue;
      const n = nodes[i]!;
      const c = counts[n.index]!, t = n.taskCount;
      if (best !== undefined) {
        if (c > bestCount) continue;
        if (c === bestCount) {
          if (t > bestTasks) continue;
          if (t === bestTasks) {
            const k = tieKey(n.index, seed);
            if (k > bestTie || (k === bestTie && n.index > best.index)) continue;
          }
        }
      }
      if (fits(n)) {
        best = n;
        bestCount = c;
        bestTasks = t;
        bestTie = tieKey(n.index, seed);
      } else dropped[i] = 1;
    }
    return best;
  }
}

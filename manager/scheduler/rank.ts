/**
 * Ranking: which feasible node gets the next task of a service.
 *
 * Order of nodes: spread (default) prefers the fewest tasks of this service, then the fewest
 * tasks overall; binpack prefers the most reserved node (CPU share + memory share), then the
 * most tasks. Spread preferences (`spread=node.labels.zone`) come first: zones are balanced by
 * the service's task count, then nodes within a zone. Remaining ties go to a per-node key hashed
 * from one draw of the injected PRNG: fair, yet the same seed gives the same plan.
 *
 * Two implementations of one {@link Ranker} contract: {@link PlacementTree} (a tree of heaps,
 * O(n) to build, O(log n) per placement) and `PlacementScan` (rank_scan.ts: no build, O(n) per
 * placement) for groups of a few tasks, where building the heaps would cost more than scanning.
 * A node a dynamic filter rejects is dropped for the rest of the service (such rejections only
 * become more true as the plan grows).
 * @module
 */
import type { Rand } from "../raft/core/prng.ts";
import { Heap } from "./_heap.ts";
import type { NodeInfo } from "./node_info.ts";
import type { Strategy } from "./types.ts";

/** Options shared by the rankers. */
export interface RankOptions {
  /**
   * Tasks of the service per node (by `NodeInfo.index`), from `ClusterView.serviceCounts`; the
   * ranker increments it as it hands out nodes.
   */
  serviceCounts: Int32Array;
  /** Label keys to spread over, outermost first. */
  spreadLabels: readonly string[];
  /** spread or binpack. */
  strategy: Strategy;
  /** Tie-breaking randomness (drawn once per ranker). */
  rand: Rand;
  /** Shared across the rankers of one run, so label partitions are computed once. */
  partitions?: PartitionCache;
}

/** Hands out the best node for each successive task of one service. */
export interface Ranker {
  /**
   * The best remaining node for which `fits` holds, after `place` recorded the task on it; or
   * undefined when no node is left. `fits` runs the dynamic filters; nodes it rejects are
   * dropped for good.
   */
  next(fits: (node: NodeInfo) => boolean, place: (node: NodeInfo) => void): NodeInfo | undefined;
}

/** A 32-bit mix of a node index and a per-ranker seed: the final tie-break key. */
export function tieKey(index: number, seed: number): number {
  let h = Math.imul(index ^ seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** `a` sorts before `b` under the strategy (never equal for distinct nodes). */
export type NodeOrder = (a: NodeInfo, b: NodeInfo) => boolean;

/**
 * The node order for `strategy`, reading the service's counts and the tie keys by node index
 * (typed arrays: the comparators are the scheduler's hottest code).
 */
export function nodeOrder(strategy: Strategy, counts: Int32Array, ties: Uint32Array): NodeOrder {
  if (strategy === "binpack") {
    return (a, b) => {
      const ua = a.utilization, ub = b.utilization;
      if (ua !== ub) return ua > ub;
      if (a.taskCount !== b.taskCount) return a.taskCount > b.taskCount;
      return ties[a.index]! < ties[b.index]! ||
        (ties[a.index] === ties[b.index] && a.index < b.index);
    };
  }
  return (a, b) => {
    const ca = counts[a.index]!, cb = counts[b.index]!;
    if (ca !== cb) return ca < cb;
    if (a.taskCount !== b.taskCount) return a.taskCount < b.taskCount;
    return ties[a.index]! < ties[b.index]! ||
      (ties[a.index] === ties[b.index] && a.index < b.index);
  };
}

/** A 32-bit seed from the PRNG. */
export function drawSeed(rand: Rand): number {
  return Math.floor(rand() * 4294967296) >>> 0;
}

/** Tie keys of `nodes` for `seed`, indexed by `NodeInfo.index` (array length `size`). */
export function tieKeys(nodes: readonly NodeInfo[], size: number, seed: number): Uint32Array {
  const ties = new Uint32Array(size);
  for (const n of nodes) ties[n.index] = tieKey(n.index, seed);
  return ties;
}

/** Feasible nodes split by a label's values, cached per node list and label for one run. */
export type PartitionCache = WeakMap<readonly NodeInfo[], Map<string, NodeInfo[][]>>;

/**
 * `group` split by the value of `label` (nodes without it together, as in Swarm), in order of
 * first appearance; cached so services alike share the work.
 */
function partition(group: readonly NodeInfo[], label: string, cache: PartitionCache): NodeInfo[][] {
  let byLabel = cache.get(group);
  if (!byLabel) cache.set(group, byLabel = new Map());
  let parts = byLabel.get(label);
  if (parts) return parts;
  const byValue = new Map<string, NodeInfo[]>();
  for (const n of group) {
    const value = n.node.labels[label] ?? "";
    let list = byValue.get(value);
    if (!list) byValue.set(value, list = []);
    list.push(n);
  }
  parts = [...byValue.values()];
  byLabel.set(label, parts);
  return parts;
}

interface Bucket {
  /** Tasks of the service on the bucket's nodes. */
  count: number;
  tiebreak: number;
  children?: Heap<Bucket>;
  nodes?: Heap<NodeInfo>;
}

const bucketBefore = (a: Bucket, b: Bucket): boolean =>
  a.count !== b.count ? a.count < b.count : a.tiebreak < b.tiebreak;

/**
 * A tree of heaps: one level per spread preference (buckets of nodes sharing a label value,
 * ordered by the service's task count in them), nodes in heaps at the leaves. Only the chosen
 * path's keys change after a placement, so only it is re-sorted; emptied buckets are dropped.
 */
export class PlacementTree implements Ranker {
  readonly #root: Bucket;
  readonly #counts: Int32Array;

  /** Builds the tree over `nodes` (the statically feasible ones, in snapshot order). */
  constructor(nodes: readonly NodeInfo[], opts: RankOptions) {
    const counts = opts.serviceCounts;
    this.#counts = counts;
    const seed = drawSeed(opts.rand);
    const before = nodeOrder(opts.strategy, counts, tieKeys(nodes, counts.length, seed));
    const cache = opts.partitions ?? new WeakMap();
    let bucketId = 0;
    const build = (group: readonly NodeInfo[], depth: number): Bucket => {
      let count = 0;
      for (const n of group) count += counts[n.index]!;
      const tiebreak = tieKey(bucketId++, seed);
      if (depth === opts.spreadLabels.length) {
        // The heap takes its array over (and shrinks it): give it a copy.
        return { count, tiebreak, nodes: new Heap(group.slice(), before) };
      }
      const children = partition(group, opts.spreadLabels[depth]!, cache).map((g) =>
        build(g, depth + 1)
      );
      return { count, tiebreak, children: new Heap(children, bucketBefore) };
    };
    this.#root = build(nodes, 0);
  }

  /** See {@link Ranker.next}. */
  next(fits: (node: NodeInfo) => boolean, place: (node: NodeInfo) => void): NodeInfo | undefined {
    return take(this.#root, fits, place, this.#counts);
  }
}

function take(
  bucket: Bucket,
  fits: (node: NodeInfo) => boolean,
  place: (node: NodeInfo) => void,
  counts: Int32Array,
): NodeInfo | undefined {
  const nodes = bucket.nodes;
  if (nodes) {
    for (let top = nodes.peek(); top !== undefined; top = nodes.peek()) {
      if (fits(top)) {
        place(top);
        counts[top.index]!++;
        nodes.updateTop();
        bucket.count++;
        return top;
      }
      nodes.pop();
    }
    return undefined;
  }
  const children = bucket.children!;
  for (let child = children.peek(); child !== undefined; child = children.peek()) {
    const got = take(child, fits, place, counts);
    if (got) {
      children.updateTop();
      bucket.count++;
      return got;
    }
    children.pop();
  }
  return undefined;
}

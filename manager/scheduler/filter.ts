/**
 * The feasibility filter contract. Each filter lives in its own file under filters/ and answers
 * one question about one node for one task, with a reason a user can read when the answer is no.
 * Reasons are verb phrases about a single node ("is drained", "lacks 2 GiB memory") so that
 * explain.ts can count and pluralize them: "2 lack 2 GiB memory, 1 is drained".
 * @module
 */
import type { NodeInfo } from "./node_info.ts";
import type { TaskRequest } from "./request.ts";

/** A node rejected for a task, and why (a singular verb phrase, e.g. `is drained`). */
export interface Rejection {
  /** Starts with a verb in the third person singular: is, has, lacks, does, runs. */
  reason: string;
}

/** `"ok"` when the node may take the task, a {@link Rejection} otherwise. */
export type FilterResult = "ok" | Rejection;

/** What a filter may know beyond the node and the task: the plan being built. */
export interface FilterContext {
  /** Node a volume (by name) lives on: from the store, an existing task, or this plan. */
  volumeNodeId(volumeName: string): string | undefined;
  /** Display name of a node ID (its hostname, or the ID when unknown). */
  nodeName(nodeId: string): string;
}

/** One feasibility check. */
export interface Filter {
  /** Short name, e.g. `resources`. */
  readonly name: string;
  /**
   * False when the answer depends only on the node's attributes and the task's spec, so it can
   * be computed once per service and scheduling run. True when it depends on what is placed
   * (resources, ports, counts, volume bindings). A dynamic filter's "no" must stay "no" while a
   * plan only adds placements: the scheduler drops such a node for the rest of the service.
   */
  readonly dynamic: boolean;
  /** Whether `node` may take `task`. Pure and cheap: it runs on the hot path. */
  check(node: NodeInfo, task: TaskRequest, ctx: FilterContext): FilterResult;
}

/** Runs `filters` in order; returns the first rejection or `"ok"`. */
export function runFilters(
  filters: readonly Filter[],
  node: NodeInfo,
  task: TaskRequest,
  ctx: FilterContext,
): FilterResult {
  for (const f of filters) {
    const r = f.check(node, task, ctx);
    if (r !== "ok") return r;
  }
  return "ok";
}

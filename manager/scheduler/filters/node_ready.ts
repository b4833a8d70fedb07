/**
 * Node eligibility: only a ready node whose operator availability is `active` takes new tasks.
 * `pause` keeps running tasks but takes no new ones; `drain` moves tasks away.
 * @module
 */
import type { Filter, FilterResult, Rejection } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";

const DRAINED: Rejection = { reason: "is drained" };
const PAUSED: Rejection = { reason: "is paused" };
const NOT_READY: Record<string, Rejection> = {
  unknown: { reason: "is not ready yet" },
  down: { reason: "is down" },
  disconnected: { reason: "is disconnected" },
};

/** Rejects nodes that are drained, paused, or not ready. */
export const nodeReadyFilter: Filter = {
  name: "node-ready",
  dynamic: false,
  check(info: NodeInfo): FilterResult {
    const node = info.node;
    if (node.availability === "drain") return DRAINED;
    if (node.availability === "pause") return PAUSED;
    if (node.status.state !== "ready") {
      return NOT_READY[node.status.state] ?? { reason: `is ${node.status.state}` };
    }
    return "ok";
  },
};

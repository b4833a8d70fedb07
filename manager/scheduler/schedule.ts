/**
 * `schedule(snapshot, work, {now, rand})`: the pure scheduler. Work items are grouped by service
 * (and image platform set); per group the static filters run once over all nodes, the feasible
 * nodes go to a ranker ({@link PlacementTree}, or `PlacementScan` for a few tasks), and each
 * task takes the best node that passes the dynamic filters. Counters update as tasks are placed, so the plan never oversubscribes a node
 * against its own snapshot; `checkPlan` then guards against newer state. Cost: O(nodes) per
 * group plus O(log nodes) per placement.
 * @module
 */
import { ClusterView } from "./cluster_view.ts";
import { explainNoNode, explainOnNode } from "./explain.ts";
import { runFilters } from "./filter.ts";
import { DYNAMIC_FILTERS, FILTERS, STATIC_FILTERS } from "./filters/mod.ts";
import type { NodeInfo } from "./node_info.ts";
import { type PartitionCache, PlacementTree, type Ranker, type RankOptions } from "./rank.ts";
import { PlacementScan, SCAN_MAX_TASKS } from "./rank_scan.ts";
import { resolveRequest, type TaskRequest } from "./request.ts";
import {
  emptyPlan,
  type Plan,
  type ScheduleOptions,
  type SchedulerSnapshot,
  type Work,
  type WorkItem,
} from "./types.ts";

/** Work items that share a service, an image platform set, and whether they are node-bound. */
interface Group {
  serviceId: string;
  imagePlatforms: readonly string[] | undefined;
  items: WorkItem[];
}

/** Nodes passing the static filters for one requirement shape, and why the others do not. */
interface StaticFeasibility {
  feasible: NodeInfo[];
  rejected: string[];
}

function groupWork(items: readonly WorkItem[]): Group[] {
  const groups = new Map<string, Group>();
  for (const item of items) {
    const platforms = item.imagePlatforms?.join(",") ?? "";
    const key = `${item.serviceId}\0${platforms}\0${item.nodeId === undefined ? "" : "bound"}`;
    let g = groups.get(key);
    if (!g) {
      groups.set(
        key,
        g = { serviceId: item.serviceId, imagePlatforms: item.imagePlatforms, items: [] },
      );
    }
    g.items.push(item);
  }
  return [...groups.values()];
}

/**
 * Decides where to place `work.place`. Pure and deterministic: the same snapshot, work and seeded
 * `rand` give the same plan.
 */
export function schedule(snapshot: SchedulerSnapshot, work: Work, opts: ScheduleOptions): Plan {
  const plan = emptyPlan(opts.now);
  const view = new ClusterView(snapshot);
  const strategy = opts.strategy ?? "spread";
  const staticCache = new Map<string, StaticFeasibility>();
  const partitions: PartitionCache = new WeakMap();
  const staticFor = (req: TaskRequest): StaticFeasibility => {
    // Static filters read only constraints and platforms: services alike share the answer.
    const key = `${req.constraintTexts.join("\0")}\x01${
      req.platforms.map((p) => `${p.os}/${p.arch}`).join(",")
    }`;
    let s = staticCache.get(key);
    if (s) return s;
    s = { feasible: [], rejected: [] };
    for (const info of view.infos) {
      const r = runFilters(STATIC_FILTERS, info, req, view);
      if (r === "ok") s.feasible.push(info);
      else s.rejected.push(r.reason);
    }
    staticCache.set(key, s);
    return s;
  };
  const placeOn = (info: NodeInfo, req: TaskRequest, item: WorkItem): void => {
    const bindings = view.place(info, req);
    plan.place.push({ taskId: item.taskId, serviceId: item.serviceId, nodeId: info.node.id });
    for (const b of bindings) plan.volumeBindings.push(b);
  };

  for (const group of groupWork(work.place)) {
    const pending = (item: WorkItem, reason: string) =>
      plan.pending.push({ taskId: item.taskId, serviceId: item.serviceId, reason });
    const service = snapshot.services.get(group.serviceId);
    const req = service === undefined
      ? `service ${group.serviceId} does not exist`
      : resolveRequest(service, group.imagePlatforms);
    if (typeof req === "string") {
      for (const item of group.items) pending(item, req);
      continue;
    }
    if (group.items[0]!.nodeId !== undefined) {
      // Node-bound (global) tasks: one node to check, with every filter.
      for (const item of group.items) {
        const info = view.byId.get(item.nodeId!);
        if (!info) {
          pending(item, `node ${item.nodeId} does not exist`);
          continue;
        }
        const r = runFilters(FILTERS, info, req, view);
        if (r === "ok") placeOn(info, req, item);
        else pending(item, explainOnNode(info.node.hostname, r.reason));
      }
      continue;
    }
    const feasibility = staticFor(req);
    const rankOpts: RankOptions = {
      serviceCounts: view.serviceCounts(req.serviceId),
      spreadLabels: req.spreadLabels,
      strategy,
      rand: opts.rand,
      partitions,
    };
    const ranker: Ranker = group.items.length <= SCAN_MAX_TASKS && req.spreadLabels.length === 0
      ? new PlacementScan(feasibility.feasible, rankOpts)
      : new PlacementTree(feasibility.feasible, rankOpts);
    // Each feasible node is rejected by a dynamic filter at most once per group.
    const dynamicRejected: string[] = [];
    const fits = (info: NodeInfo): boolean => {
      const r = runFilters(DYNAMIC_FILTERS, info, req, view);
      if (r === "ok") return true;
      dynamicRejected.push(r.reason);
      return false;
    };
    let current: WorkItem = group.items[0]!;
    const place = (info: NodeInfo) => placeOn(info, req, current);
    let exhausted: string | undefined;
    for (const item of group.items) {
      current = item;
      if (exhausted === undefined && ranker.next(fits, place) !== undefined) continue;
      // Every node is now rejected for a reason that stays true for this service.
      exhausted ??= explainNoNode([...feasibility.rejected, ...dynamicRejected]);
      pending(item, exhausted);
    }
  }
  return plan;
}

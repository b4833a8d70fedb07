/**
 * Which nodes a global service runs on: those passing the scheduler's static filters (ready and
 * active, constraints, platform). Placement-dependent checks (resources, ports) stay with the
 * scheduler, which leaves such a task pending with its reason.
 * @module
 */
import {
  type Filter,
  FILTERS,
  type NodeInfo,
  nodeReadyFilter,
  runFilters,
  type SchedulerService,
} from "../scheduler/mod.ts";
import type { ClusterView } from "../scheduler/cluster_view.ts";
import { resolveRequest } from "../scheduler/request.ts";

/** IDs of the nodes that qualify for `service`, or a reason none can (bad constraint). */
export function globalEligibleNodes(
  view: ClusterView,
  service: SchedulerService,
  imagePlatforms?: readonly string[],
): Set<string> {
  return passing(view, service, imagePlatforms, STATICS, () => true);
}

/**
 * IDs of the ready nodes paused by their operator that otherwise qualify for `service`: they
 * keep the task they run, but get no new one (as in Swarm: pause stops nothing, only a drain
 * moves tasks away).
 */
export function globalPausedNodes(
  view: ClusterView,
  service: SchedulerService,
  imagePlatforms?: readonly string[],
): Set<string> {
  return passing(
    view,
    service,
    imagePlatforms,
    STATICS_BUT_READY,
    (n) => n.availability === "pause" && n.status.state === "ready",
  );
}

const STATICS = FILTERS.filter((f) => !f.dynamic);
const STATICS_BUT_READY = STATICS.filter((f) => f !== nodeReadyFilter);

/** IDs of the nodes for which `select` holds and that pass `filters` for `service`. */
function passing(
  view: ClusterView,
  service: SchedulerService,
  imagePlatforms: readonly string[] | undefined,
  filters: readonly Filter[],
  select: (node: NodeInfo["node"]) => boolean,
): Set<string> {
  const req = resolveRequest(service, imagePlatforms);
  const out = new Set<string>();
  if (typeof req === "string") return out;
  for (const info of view.infos) {
    if (select(info.node) && runFilters(filters, info, req, view) === "ok") out.add(info.node.id);
  }
  return out;
}

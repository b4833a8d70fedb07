/**
 * Which nodes a global service runs on: those passing the scheduler's static filters (ready and
 * active, constraints, platform). Placement-dependent checks (resources, ports) stay with the
 * scheduler, which leaves such a task pending with its reason.
 * @module
 */
import { FILTERS, nodeReadyFilter, runFilters, type SchedulerService } from "../scheduler/mod.ts";
import type { ClusterView } from "../scheduler/cluster_view.ts";
import { resolveRequest } from "../scheduler/request.ts";

/** IDs of the nodes that qualify for `service`, or a reason none can (bad constraint). */
export function globalEligibleNodes(
  view: ClusterView,
  service: SchedulerService,
  imagePlatforms?: readonly string[],
): Set<string> {
  const req = resolveRequest(service, imagePlatforms);
  const out = new Set<string>();
  if (typeof req === "string") return out;
  const statics = FILTERS.filter((f) => !f.dynamic);
  for (const info of view.infos) {
    if (runFilters(statics, info, req, view) === "ok") out.add(info.node.id);
  }
  return out;
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
  const req = resolveRequest(service, imagePlatforms);
  const out = new Set<string>();
  if (typeof req === "string") return out;
  const others = FILTERS.filter((f) => !f.dynamic && f !== nodeReadyFilter);
  for (const info of view.infos) {
    if (info.node.availability !== "pause" || info.node.status.state !== "ready") continue;
    if (runFilters(others, info, req, view) === "ok") out.add(info.node.id);
  }
  return out;
}

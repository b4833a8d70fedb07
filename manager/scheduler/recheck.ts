/**
 * Re-checks the running tasks of some services against the current nodes: a task on a drained
 * node, on a node that no longer satisfies the service's constraints (labels changed), or above
 * `maxReplicasPerNode` (the limit was lowered) is stopped. For a global service this is how a
 * node leaves the service; for a replicated one the orchestrator then replaces the task
 * elsewhere. Paused and down nodes keep their tasks (down nodes are the orchestrator's call).
 * @module
 */
import type { ClusterView } from "./cluster_view.ts";
import { firstViolated } from "./filters/constraints.ts";
import { resolveRequest } from "./request.ts";
import type { SchedulerSnapshot, SchedulerTask, StopOrder } from "./types.ts";

/** The stop orders for the tasks of `serviceIds` that may no longer run where they are. */
export function recheckStops(
  snapshot: SchedulerSnapshot,
  view: ClusterView,
  serviceIds: readonly string[],
): StopOrder[] {
  const stops: StopOrder[] = [];
  for (const serviceId of new Set(serviceIds)) {
    const service = snapshot.services.get(serviceId);
    if (!service) continue; // a removed service's tasks are the orchestrator's to stop
    const req = resolveRequest(service, undefined);
    if (typeof req === "string") continue;
    const keptByNode = new Map<string, SchedulerTask[]>();
    for (const task of view.tasksByService.get(serviceId) ?? []) {
      if (task.stopping) continue;
      const info = view.byId.get(task.nodeId);
      if (!info) continue;
      const stop = (reason: string) =>
        stops.push({ taskId: task.id, serviceId, nodeId: task.nodeId, reason });
      if (info.node.availability === "drain") {
        stop(`node ${info.node.hostname} is drained`);
        continue;
      }
      const violated = firstViolated(req.constraints, info.node);
      if (violated >= 0) {
        stop(`node ${info.node.hostname} does not satisfy ${req.constraintTexts[violated]}`);
        continue;
      }
      let kept = keptByNode.get(task.nodeId);
      if (!kept) keptByNode.set(task.nodeId, kept = []);
      kept.push(task);
    }
    const max = req.maxReplicasPerNode;
    if (max === 0) continue;
    for (const [nodeId, kept] of keptByNode) {
      if (kept.length <= max) continue;
      // Keep the lowest task IDs: the choice must not depend on snapshot order.
      const excess = kept.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(max);
      for (const task of excess) {
        stops.push({
          taskId: task.id,
          serviceId,
          nodeId,
          reason: `node ${view.nodeName(nodeId)} runs more than the maximum of ${max} ${
            max === 1 ? "task" : "tasks"
          } of ${req.serviceName} per node`,
        });
      }
    }
  }
  return stops;
}

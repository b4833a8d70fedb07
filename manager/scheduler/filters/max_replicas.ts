/**
 * `maxReplicasPerNode`: a node already running that many tasks of the service (counting the
 * ones this plan placed) takes no more.
 * @module
 */
import type { Filter, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import type { TaskRequest } from "../request.ts";

/** Rejects nodes that already run the service's maximum per node. */
export const maxReplicasFilter: Filter = {
  name: "max-replicas",
  dynamic: true,
  check(info: NodeInfo, task: TaskRequest): FilterResult {
    const max = task.maxReplicasPerNode;
    if (max === 0 || info.countOf(task.serviceId) < max) return "ok";
    return {
      reason: `runs the maximum of ${max} ${task.serviceName} ${
        max === 1 ? "task" : "tasks"
      } per node`,
    };
  },
};

/**
 * Volume affinity: a local volume lives on one node, so a task mounting a volume that is bound
 * (by the store, by a task already using it, or by an earlier placement in this plan) must go
 * there. An unbound volume allows any node; the scheduler then records a binding in the plan.
 * Dynamic because bindings appear while the plan is built, but a binding never moves, so a "no"
 * stays a "no".
 * @module
 */
import type { Filter, FilterContext, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import type { TaskRequest } from "../request.ts";

/** Rejects nodes other than the one holding a volume the task mounts. */
export const volumesFilter: Filter = {
  name: "volumes",
  dynamic: true,
  check(info: NodeInfo, task: TaskRequest, ctx: FilterContext): FilterResult {
    for (const name of task.volumes) {
      const bound = ctx.volumeNodeId(name);
      if (bound !== undefined && bound !== info.node.id) {
        return { reason: `is not ${ctx.nodeName(bound)}, which holds volume ${name}` };
      }
    }
    return "ok";
  },
};

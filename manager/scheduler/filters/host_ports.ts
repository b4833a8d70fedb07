/**
 * Host-mode published ports: a host port is bound on the node itself, so two tasks publishing
 * the same port/protocol in host mode cannot share a node (ingress ports are not affected: the
 * routing mesh owns them on every node).
 * @module
 */
import type { Filter, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import type { TaskRequest } from "../request.ts";

/** Rejects nodes where one of the task's host ports is already bound. */
export const hostPortsFilter: Filter = {
  name: "host-ports",
  dynamic: true,
  check(info: NodeInfo, task: TaskRequest): FilterResult {
    for (const port of task.hostPorts) {
      if (info.hostPorts.has(port)) return { reason: `has host port ${port} in use` };
    }
    return "ok";
  },
};

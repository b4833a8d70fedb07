/**
 * Resource reservations: the task's reserved CPU and memory must fit in the node's capacity
 * minus what non-terminal tasks there already reserve, including placements made earlier in
 * the same plan (the node's counters include them).
 * @module
 */
import type { Filter, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import type { TaskRequest } from "../request.ts";
import { formatBytes, formatCpus } from "../_units.ts";

/** Rejects nodes without enough free CPU or memory for the task's reservation. */
export const resourcesFilter: Filter = {
  name: "resources",
  dynamic: true,
  check(info: NodeInfo, task: TaskRequest): FilterResult {
    const { nanoCpus, memoryBytes } = task.reservations;
    const cpuShort = nanoCpus > 0 && info.freeNanoCpus < nanoCpus;
    const memShort = memoryBytes > 0 && info.freeMemoryBytes < memoryBytes;
    if (!cpuShort && !memShort) return "ok";
    const lacking = [
      ...(cpuShort ? [formatCpus(nanoCpus)] : []),
      ...(memShort ? [`${formatBytes(memoryBytes)} memory`] : []),
    ];
    return { reason: `lacks ${lacking.join(" and ")}` };
  },
};

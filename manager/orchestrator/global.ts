/**
 * Global services: one task per eligible node (pure). A node that becomes eligible gets a task;
 * a node that leaves, drains or stops qualifying has its task stopped. Dead tasks on a node are
 * replaced on the same node per the restart policy. A spec change rolls node by node through
 * the rolling updater (update.ts), as for replicated services.
 * @module
 */
import { isTerminal, runsCurrentSpec, type Service, type Task } from "../../proto/schema/mod.ts";
import { type Actions, noActions } from "./actions.ts";
import { superviseSlot } from "./restart.ts";
import { isLive, isStopping } from "./replicated.ts";

/** Tasks with a node, by node, newest first in each list (the global counterpart of bySlot). */
export function byNode(tasks: readonly Task[]): Map<string, Task[]> {
  const m = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.nodeId === undefined) continue;
    const list = m.get(t.nodeId);
    if (list) list.push(t);
    else m.set(t.nodeId, [t]);
  }
  for (const list of m.values()) list.sort((a, b) => b.createdAt - a.createdAt);
  return m;
}

/**
 * Decides creates and stops so that every node in `eligible` runs exactly one task. A node in
 * `paused` keeps the task that runs there, but one that ended is not restarted.
 */
export function reconcileGlobal(
  service: Service,
  tasks: readonly Task[],
  eligible: ReadonlySet<string>,
  now: number,
  paused: ReadonlySet<string> = new Set(),
): Actions {
  const out = noActions();
  const grouped = byNode(tasks);
  for (const [nodeId, list] of grouped) {
    if (eligible.has(nodeId)) continue;
    for (const t of list) {
      if (paused.has(nodeId) && isLive(t)) {
        if (!isTerminal(t.status.state)) continue;
        out.desired.push({
          taskId: t.id,
          desiredState: "shutdown",
          reason: `node ${nodeId} is paused: the task is not restarted there`,
        });
      } else if (isLive(t)) {
        out.desired.push({
          taskId: t.id,
          desiredState: "shutdown",
          reason: `node ${nodeId} no longer runs this global service`,
        });
      }
    }
  }
  for (const nodeId of eligible) {
    const list = grouped.get(nodeId) ?? [];
    const live = list.filter(isLive);
    // The node's task is the newest one running the current spec (after a rollback that may
    // be the older one), else the newest. A task of another version beside a current one is
    // the rolling updater's to retire (start-first keeps it until the new task runs).
    const current = live.find((t) => runsCurrentSpec(service, t.specVersion)) ?? live[0];
    const currentIsUpToDate = current !== undefined &&
      runsCurrentSpec(service, current.specVersion);
    for (const extra of live) {
      if (extra === current) continue;
      if (currentIsUpToDate && !runsCurrentSpec(service, extra.specVersion)) continue;
      out.desired.push({ taskId: extra.id, desiredState: "shutdown", reason: "one task per node" });
    }
    // As for a replicated slot: a node's new task waits until the task told to stop there has
    // stopped (stop-first). An eligible node is ready, so its worker reports that stop.
    if (!current && list.some((t) => isStopping(t))) continue;
    superviseSlot(out, {
      current,
      history: list,
      policy: service.spec.restartPolicy,
      fresh: { serviceId: service.id, nodeId, specVersion: service.specVersion },
      now,
    });
  }
  return out;
}

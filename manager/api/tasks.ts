/**
 * Task handlers: list by service and/or node, with or without history.
 * @module
 */
import { isTerminal, type Task } from "../../proto/schema/mod.ts";
import { type ApiContext, readBarrier, resolve } from "./context.ts";
import { findNode } from "./nodes.ts";
import { type ClusterState, tasksOfService, tasksOnNode } from "../state/fsm_state.ts";
import { isRetired } from "../orchestrator/restart.ts";

/**
 * Lists tasks; without `history`, those meant to run (desired state not terminal), those told to
 * stop that have not stopped yet (still running through their stop grace period, or on a node
 * that went silent), as Swarm shows them ("Shutdown / Running"): they still hold a container;
 * and the last task of a slot its restart policy retired (a job that completed, a task that used
 * up its attempts), so a finished job still shows how it ended.
 */
export async function listTasks(
  ctx: ApiContext,
  opts: { serviceId?: string; nodeId?: string; history: boolean; stale: boolean },
): Promise<{ tasks: Task[]; index: number }> {
  const s = await readBarrier(ctx, opts.stale);
  let tasks: Task[];
  if (opts.serviceId !== undefined) {
    const sv = resolve(s.services, s.serviceIdByName, opts.serviceId, "service");
    tasks = tasksOfService(s, sv.id);
  } else if (opts.nodeId !== undefined) {
    tasks = tasksOnNode(s, findNode(s, opts.nodeId).id);
  } else {
    tasks = [...s.tasks.values()];
  }
  if (opts.nodeId !== undefined && opts.serviceId !== undefined) {
    const nodeId = findNode(s, opts.nodeId).id;
    tasks = tasks.filter((t) => t.nodeId === nodeId);
  }
  if (!opts.history) tasks = current(s, tasks);
  tasks.sort((a, b) =>
    a.serviceId !== b.serviceId
      ? (a.serviceId < b.serviceId ? -1 : 1)
      : (a.slot ?? 0) - (b.slot ?? 0) || b.createdAt - a.createdAt
  );
  return { tasks, index: ctx.store.index };
}

/** `tasks` without history: see {@link listTasks}. */
function current(s: Readonly<ClusterState>, tasks: Task[]): Task[] {
  const shown = tasks.filter((t) => !isTerminal(t.desiredState) || !isTerminal(t.status.state));
  // The newest task of each slot (a global service's: of each node) that shows no task.
  const slotOf = (t: Task) => `${t.serviceId}\0${t.slot ?? `@${t.nodeId}`}`;
  const occupied = new Set(shown.map(slotOf));
  const newest = new Map<string, Task>();
  for (const t of tasks) {
    const k = slotOf(t);
    if (occupied.has(k)) continue;
    const n = newest.get(k);
    if (!n || t.createdAt > n.createdAt) newest.set(k, t);
  }
  for (const t of newest.values()) {
    const sv = s.services.get(t.serviceId);
    // A slot scaled away is not the service's any more.
    const inScale = t.slot === undefined || sv?.spec.mode !== "replicated" ||
      t.slot <= (sv.spec.replicas ?? 0);
    if (isRetired(t) && inScale) shown.push(t);
  }
  return shown;
}

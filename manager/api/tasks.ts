/**
 * Task handlers: list by service and/or node, with or without history.
 * @module
 */
import { isTerminal, type Task } from "../../proto/schema/mod.ts";
import { type ApiContext, readBarrier, resolve } from "./context.ts";
import { findNode } from "./nodes.ts";
import { tasksOfService, tasksOnNode } from "../state/fsm_state.ts";

/**
 * Lists tasks; without `history`, those meant to run (desired state not terminal) and those
 * told to stop that have not stopped yet (still running through their stop grace period, or on
 * a node that went silent), as Swarm shows them ("Shutdown / Running"): they still hold a
 * container.
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
  if (!opts.history) {
    tasks = tasks.filter((t) => !isTerminal(t.desiredState) || !isTerminal(t.status.state));
  }
  tasks.sort((a, b) =>
    a.serviceId !== b.serviceId
      ? (a.serviceId < b.serviceId ? -1 : 1)
      : (a.slot ?? 0) - (b.slot ?? 0) || b.createdAt - a.createdAt
  );
  return { tasks, index: ctx.store.index };
}

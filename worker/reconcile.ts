/**
 * What an assignments message means for the tasks this worker runs (pure). A complete message
 * is authoritative: tasks it does not list are removed. A delta upserts and removes. Tasks this
 * worker knows are only updated (never restarted), so a reconnect does not disturb healthy tasks.
 *
 * ```
 *  message task   local runner   manager's status        action
 *  listed         yes            any                     update (desired state)
 *  listed         no             assigned..starting      create (resume from that state)
 *  listed         no             running                 lost (report failed: no record here)
 *  listed         no             terminal                ignore (nothing to run)
 *  not listed     yes            (complete message)      remove
 *  removed id     yes            (delta)                 remove
 * ```
 * @module
 */
import {
  type Assignment,
  type AssignmentsMessage,
  isTerminal,
  taskStateOrder,
} from "../proto/schema/mod.ts";

/** What to do with the runners after a message. */
export interface ReconcilePlan {
  /** New tasks to run. */
  create: Assignment[];
  /** Known tasks with a newer view. */
  update: Assignment[];
  /** Known tasks to stop and remove (IDs). */
  remove: string[];
  /** Tasks the manager believes run here that this worker has no record of. */
  lost: Assignment[];
}

const RUNNING = taskStateOrder("running");

/** Plans the runners' changes for `msg` given the IDs of the tasks this worker has. */
export function planReconcile(
  local: ReadonlySet<string>,
  msg: Pick<AssignmentsMessage, "complete" | "assignments" | "removedTaskIds">,
): ReconcilePlan {
  const plan: ReconcilePlan = { create: [], update: [], remove: [], lost: [] };
  const listed = new Set<string>();
  for (const a of msg.assignments) {
    // Listed twice in one message (a manager bug): one runner per task, whatever the message.
    if (listed.has(a.task.id)) continue;
    listed.add(a.task.id);
    if (local.has(a.task.id)) {
      plan.update.push(a);
      continue;
    }
    const state = a.task.status.state;
    if (isTerminal(state)) continue;
    if (taskStateOrder(state) >= RUNNING) plan.lost.push(a);
    else plan.create.push(a);
  }
  if (msg.complete) {
    for (const id of local) if (!listed.has(id)) plan.remove.push(id);
  } else {
    for (const id of msg.removedTaskIds) if (local.has(id) && !listed.has(id)) plan.remove.push(id);
  }
  plan.remove.sort();
  return plan;
}

/**
 * Task history: keep the last `keep` finished tasks per slot (or per node for global services)
 * and reap older ones (pure).
 * @module
 */
import { isTerminal, type Task, taskStateOrder } from "../../proto/schema/mod.ts";

const ASSIGNED = taskStateOrder("assigned");

/**
 * IDs of finished tasks beyond the newest `keep` per slot/node, and every task of a service
 * gone, whatever its state: the dispatcher stops sending a deleted service's tasks, so their
 * workers remove them without a last report (a task left "running" would stay forever), and
 * one still desired running (it failed and was waiting out its restart delay when the service
 * was deleted, which tells only live tasks to shut down) nothing would ever restart or remove.
 * Also a task told to stop before it was assigned (scaled down while pending): no scheduler
 * places it and no worker ever sees it, so it would stay pending forever (Swarm deletes these).
 */
export function tasksToReap(
  tasks: readonly Task[],
  keep: number,
  serviceExists: (id: string) => boolean,
): string[] {
  const groups = new Map<string, Task[]>();
  const out: string[] = [];
  for (const t of tasks) {
    if (!serviceExists(t.serviceId)) {
      out.push(t.id);
      continue;
    }
    if (!isTerminal(t.status.state)) {
      if (isTerminal(t.desiredState) && taskStateOrder(t.status.state) < ASSIGNED) out.push(t.id);
      continue;
    }
    if (!isTerminal(t.desiredState)) continue;
    const key = `${t.serviceId}/${t.slot ?? t.nodeId}`;
    const list = groups.get(key);
    if (list) list.push(t);
    else groups.set(key, [t]);
  }
  for (const list of groups.values()) {
    if (list.length <= keep) continue;
    list.sort((a, b) => b.updatedAt - a.updatedAt);
    for (const t of list.slice(keep)) out.push(t.id);
  }
  return out;
}

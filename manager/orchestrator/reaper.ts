/**
 * Task history: keep the last `keep` finished tasks per slot (or per node for global services)
 * and reap older ones (pure).
 * @module
 */
import { isTerminal, type Task, taskStateOrder } from "../../proto/schema/mod.ts";
import { isAttempt } from "./restart.ts";

const ASSIGNED = taskStateOrder("assigned");

/**
 * IDs of finished tasks beyond the newest `keep` per slot/node, and every task of a service
 * gone, whatever its state: the dispatcher stops sending a deleted service's tasks, so their
 * workers remove them without a last report (a task left "running" would stay forever), and
 * one still desired running (it failed and was waiting out its restart delay when the service
 * was deleted, which tells only live tasks to shut down) nothing would ever restart or remove.
 * Also a task told to stop before it was assigned (scaled down while pending): no scheduler
 * places it and no worker ever sees it, so it would stay pending forever (Swarm deletes these).
 *
 * `maxAttemptsOf` gives a service's restart policy limit (0: none): a slot keeps at least that
 * many ended tasks that count as attempts (see {@link isAttempt}), since the policy counts them
 * in the history; reaped down to `keep`, a limit above `keep` was never reached.
 *
 * `nodeExists` (default: every node does): a task told to stop on a node since removed goes
 * too, whatever its last reported state: no worker will report it again (a removed node's
 * worker is refused and stops its tasks on its own), so one last seen "running" stayed in
 * `service ps` and the state for good.
 */
export function tasksToReap(
  tasks: readonly Task[],
  keep: number,
  serviceExists: (id: string) => boolean,
  maxAttemptsOf: (serviceId: string) => number = () => 0,
  nodeExists: (nodeId: string) => boolean = () => true,
): string[] {
  const groups = new Map<string, Task[]>();
  const out: string[] = [];
  for (const t of tasks) {
    if (!serviceExists(t.serviceId)) {
      out.push(t.id);
      continue;
    }
    if (!isTerminal(t.status.state)) {
      if (
        isTerminal(t.desiredState) &&
        (taskStateOrder(t.status.state) < ASSIGNED ||
          (t.nodeId !== undefined && !nodeExists(t.nodeId)))
      ) out.push(t.id);
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
    const maxAttempts = maxAttemptsOf(list[0]!.serviceId);
    list.sort((a, b) => b.updatedAt - a.updatedAt);
    let attempts = 0;
    list.forEach((t, i) => {
      // Among the newest attempts the restart policy counts: kept beyond `keep`.
      const counted = attempts < maxAttempts && isAttempt(t);
      if (counted) attempts++;
      if (i >= keep && !counted) out.push(t.id);
    });
  }
  return out;
}

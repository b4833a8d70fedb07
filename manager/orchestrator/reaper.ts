/**
 * Task history: keep the last `keep` finished tasks per slot (or per node for global services)
 * and reap older ones (pure).
 * @module
 */
import { isTerminal, type Task } from "../../proto/schema/mod.ts";

/** IDs of finished tasks beyond the newest `keep` per slot/node, and of services gone. */
export function tasksToReap(
  tasks: readonly Task[],
  keep: number,
  serviceExists: (id: string) => boolean,
): string[] {
  const groups = new Map<string, Task[]>();
  const out: string[] = [];
  for (const t of tasks) {
    const done = isTerminal(t.desiredState) && isTerminal(t.status.state);
    if (!done) continue;
    if (!serviceExists(t.serviceId)) {
      out.push(t.id);
      continue;
    }
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

/**
 * Replicated services: keep exactly `replicas` tasks, one per slot 1..N (pure).
 * - a slot without a live task gets a new one (unless its last task was retired by the restart
 *   policy);
 * - a dead task in a slot is replaced per the restart policy;
 * - slots above N are stopped (scaling down removes the highest slots);
 * - a task on a node that is draining or gone is replaced.
 * Rolling updates are decided elsewhere (update.ts); this keeps the count right.
 * @module
 */
import { isTerminal, type Service, type Task } from "../../proto/schema/mod.ts";
import { type Actions, noActions } from "./actions.ts";
import { superviseSlot } from "./restart.ts";

/** Node facts the reconcilers need. */
export interface NodeFacts {
  /** Nodes whose tasks must move away (drained, removed, or down past the grace). */
  evacuate(nodeId: string, service: Service, now: number): string | undefined;
}

/** Groups tasks by slot, newest first. */
export function bySlot(tasks: readonly Task[]): Map<number, Task[]> {
  const m = new Map<number, Task[]>();
  for (const t of tasks) {
    if (t.slot === undefined) continue;
    const list = m.get(t.slot);
    if (list) list.push(t);
    else m.set(t.slot, [t]);
  }
  for (const list of m.values()) {
    list.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }
  return m;
}

/** A task still meant to run. */
export const isLive = (t: Task): boolean => !isTerminal(t.desiredState);

/** Decides the creates and stops that bring `service` to its replica count. */
export function reconcileReplicated(
  service: Service,
  tasks: readonly Task[],
  nodes: NodeFacts,
  now: number,
): Actions {
  const out = noActions();
  const want = service.spec.replicas ?? 1;
  const slots = bySlot(tasks);
  for (const [slot, list] of slots) {
    if (slot <= want) continue;
    for (const t of list) {
      if (isLive(t)) {
        out.desired.push({
          taskId: t.id,
          desiredState: "shutdown",
          reason: `scaled down to ${want}`,
        });
      }
    }
  }
  for (let slot = 1; slot <= want; slot++) {
    const list = slots.get(slot) ?? [];
    const live = list.filter(isLive);
    // Two live tasks in a slot happen during start-first updates: the updater resolves those.
    const current = live[0];
    const fresh = { serviceId: service.id, slot, specVersion: service.specVersion };
    if (current?.nodeId !== undefined && !isTerminal(current.status.state)) {
      const why = nodes.evacuate(current.nodeId, service, now);
      if (why) {
        out.desired.push({ taskId: current.id, desiredState: "shutdown", reason: why });
        out.create.push(fresh);
      }
      continue;
    }
    superviseSlot(out, { current, history: list, policy: service.spec.restartPolicy, fresh, now });
  }
  return out;
}

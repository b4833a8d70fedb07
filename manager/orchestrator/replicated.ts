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
import { restartDecision } from "./restart.ts";

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
    if (!current) {
      const latest = list[0];
      if (
        latest && latest.desiredState !== "shutdown" && latest.desiredState === latest.status.state
      ) {
        continue; // retired by the restart policy: the slot stays done
      }
      out.create.push({ serviceId: service.id, slot, specVersion: service.specVersion });
      continue;
    }
    if (current.nodeId !== undefined && !isTerminal(current.status.state)) {
      const why = nodes.evacuate(current.nodeId, service, now);
      if (why) {
        out.desired.push({ taskId: current.id, desiredState: "shutdown", reason: why });
        out.create.push({ serviceId: service.id, slot, specVersion: service.specVersion });
      }
      continue;
    }
    if (!isTerminal(current.status.state)) continue;
    // Observed dead while meant to run: the restart supervisor decides.
    const d = restartDecision(current, service.spec.restartPolicy, list.slice(1), now);
    if (d.kind === "replace") {
      out.desired.push({ taskId: current.id, desiredState: "shutdown", reason: "replaced" });
      out.create.push({ serviceId: service.id, slot, specVersion: service.specVersion });
    } else if (d.kind === "wait") {
      out.wakeAt = out.wakeAt === undefined ? d.until : Math.min(out.wakeAt, d.until);
    } else {
      // Retire: the desired state follows the observed terminal state.
      out.desired.push({
        taskId: current.id,
        desiredState: current.status.state,
        reason: d.reason,
      });
    }
  }
  return out;
}

/**
 * Replicated services: keep exactly `replicas` tasks, one per slot 1..N (pure).
 * - a slot without a live task gets a new one (unless its last task was retired by the restart
 *   policy);
 * - a dead task in a slot is replaced per the restart policy;
 * - slots above N are stopped (scaling down removes the highest slots);
 * - a task on a node that is draining or gone is replaced;
 * - a slot whose task was told to stop stays empty until that task has stopped (stop-first:
 *   two tasks of one slot never run at once).
 * Rolling updates are decided elsewhere (update.ts); this keeps the count right.
 * @module
 */
import { isTerminal, type Service, type Task, taskStateOrder } from "../../proto/schema/mod.ts";
import { type Actions, noActions } from "./actions.ts";
import { superviseSlot } from "./restart.ts";

/** Node facts the reconcilers need. */
export interface NodeFacts {
  /** Nodes whose tasks must move away (drained, removed, or down past the grace). */
  evacuate(nodeId: string, service: Service, now: number): string | undefined;
  /**
   * Whether tasks on `nodeId` will never report again: the node was removed, or is down past
   * the service's disconnect grace. A task there that was told to stop is no longer waited for.
   */
  lost(nodeId: string, service: Service, now: number): boolean;
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

const ASSIGNED = taskStateOrder("assigned");

/**
 * A task told to stop whose container may still run: a worker has it (assigned or later) and
 * has not reported it stopped. A task on a node that is `lost` (see {@link NodeFacts.lost}) is
 * given up on: it is not stopping, it is gone.
 */
export function isStopping(t: Task, lost: (nodeId: string) => boolean = () => false): boolean {
  return isTerminal(t.desiredState) && !isTerminal(t.status.state) &&
    taskStateOrder(t.status.state) >= ASSIGNED && t.nodeId !== undefined && !lost(t.nodeId);
}

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
    // A slot emptied by a stop-first update (or a scale down and up again) gets its new task
    // only once the old one has stopped: not two instances at once, e.g. on the same volume.
    // The stop ends: the worker kills the task after its stop grace period, and a node that
    // cannot report is given up on after the disconnect grace (`lost`).
    const lost = (nodeId: string) => nodes.lost(nodeId, service, now);
    if (!current && list.some((t) => isStopping(t, lost))) continue;
    superviseSlot(out, { current, history: list, policy: service.spec.restartPolicy, fresh, now });
  }
  return out;
}

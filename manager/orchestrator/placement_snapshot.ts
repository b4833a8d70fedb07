/**
 * The scheduler's snapshot as the plan applier needs it (pure): `snapshotFromState` counts every
 * task that names a node, but a global service's task names its node from creation, before it
 * is placed. Such a task must not occupy its node yet: the scheduler would count its
 * reservation twice, and the plan check would refuse it as "already assigned".
 * @module
 */
import { taskStateOrder } from "../../proto/schema/mod.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import { type SchedulerSnapshot, snapshotFromState } from "../scheduler/mod.ts";

const ASSIGNED = taskStateOrder("assigned");

/** {@link snapshotFromState} without the tasks that are not assigned yet (new, pending). */
export function placementSnapshot(state: ClusterState): SchedulerSnapshot {
  const snap = snapshotFromState(state);
  let unplaced = false;
  for (const t of snap.tasks) {
    const task = state.tasks.get(t.id);
    if (task && taskStateOrder(task.status.state) < ASSIGNED) {
      unplaced = true;
      break;
    }
  }
  if (!unplaced) return snap;
  return {
    ...snap,
    tasks: snap.tasks.filter((t) => {
      const task = state.tasks.get(t.id);
      return !task || taskStateOrder(task.status.state) >= ASSIGNED;
    }),
  };
}

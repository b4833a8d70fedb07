/**
 * Turns a reconcile pass's {@link NewTask} decisions into the tasks a `task.create` command
 * carries (pure). From cluster feature level 2 ({@link TASK_RESERVES_LEVEL}) each task records
 * what the spec it runs holds on a node (`Task.reserves`), so the scheduler counts it exactly
 * even once the service no longer has that spec; below it, tasks are made as before: a manager
 * of an older binary would drop the field, and its scheduler state would differ.
 * @module
 */
import { type Task, taskReservesOf } from "../../proto/schema/mod.ts";
import { clusterSupports, TASK_RESERVES_LEVEL } from "../state/fsm_feature_level.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { NewTask } from "./actions.ts";

/** What {@link newTasks} reads and needs besides the decisions. */
export interface NewTaskContext {
  /** The latest committed state: the cluster's feature level and the services' specs. */
  state: Readonly<ClusterState>;
  /** Time of creation (ms). */
  now: number;
  /** A fresh task ID. */
  newId: () => string;
}

/** The pending tasks to create for `decisions`, in order. */
export function newTasks(decisions: readonly NewTask[], ctx: NewTaskContext): Task[] {
  const records = clusterSupports(ctx.state, TASK_RESERVES_LEVEL);
  return decisions.map((c) => {
    const task: Task = {
      id: ctx.newId(),
      serviceId: c.serviceId,
      ...(c.slot !== undefined ? { slot: c.slot } : {}),
      ...(c.nodeId !== undefined ? { nodeId: c.nodeId } : {}),
      specVersion: c.specVersion,
      desiredState: "running",
      status: {
        state: "pending",
        message: "waiting to be scheduled",
        health: "none",
        timestamp: ctx.now,
      },
      createdAt: ctx.now,
      updatedAt: ctx.now,
    };
    if (!records) return task;
    // A decision runs the spec of the version it names. When the service moved on since the
    // pass read it (or is gone), that spec is not at hand: the task records nothing and is
    // counted from its service's specs, as a task from before level 2 is.
    const service = ctx.state.services.get(c.serviceId);
    if (service === undefined || service.specVersion !== c.specVersion) return task;
    return { ...task, reserves: taskReservesOf(service.spec) };
  });
}

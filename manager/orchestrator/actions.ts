/**
 * What a reconcile pass decides: tasks to create, tasks to stop or retire, and when to look
 * again. Produced by pure functions, applied by the orchestrator loop as Raft commands.
 * @module
 */
import type { TaskState } from "../../proto/schema/mod.ts";

/** A task to create (in state pending: the scheduler places it). */
export interface NewTask {
  serviceId: string;
  slot?: number;
  /** Global services: the node the task belongs to. */
  nodeId?: string;
  specVersion: number;
}

/** A change of a task's desired state (forward only). */
export interface DesiredChange {
  taskId: string;
  desiredState: TaskState;
  reason: string;
}

/** The decisions of one reconcile pass. */
export interface Actions {
  create: NewTask[];
  desired: DesiredChange[];
  /** Earliest time (ms) at which a pass should run again for a delayed decision. */
  wakeAt?: number;
}

/** No decisions. */
export function noActions(): Actions {
  return { create: [], desired: [] };
}

/** Folds `b` into `a`. */
export function mergeActions(a: Actions, b: Actions): Actions {
  a.create.push(...b.create);
  a.desired.push(...b.desired);
  if (b.wakeAt !== undefined) {
    a.wakeAt = a.wakeAt === undefined ? b.wakeAt : Math.min(a.wakeAt, b.wakeAt);
  }
  return a;
}

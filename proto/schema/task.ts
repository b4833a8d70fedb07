/**
 * Task: one scheduled instance of a service. The manager owns `desiredState`; the worker reports
 * `status`. Both only move forward (see task_state.ts). A replicated task fills a `slot`
 * (1..replicas); a global task is bound to its `nodeId` from creation.
 */
import { z } from "zod";
import { IdSchema, TimestampMsSchema } from "./common.ts";
import { TaskReservesSchema } from "./task_reserves.ts";
import { TaskStateSchema } from "./task_state.ts";

/** Health as the worker's checks see it. */
export const TaskHealthSchema = z.enum(["none", "starting", "healthy", "unhealthy"]);
/** Task health. */
export type TaskHealth = z.infer<typeof TaskHealthSchema>;

/** What the worker last observed about a task. */
export const TaskStatusSchema = z.object({
  /** Observed state. */
  state: TaskStateSchema,
  /** Human-readable progress or pending reason, e.g. `no node has 2 GiB memory free`. */
  message: z.string().max(1024).default(""),
  /** Error text for failed or rejected tasks. */
  error: z.string().max(4096).optional(),
  /** Exit code once the container has exited. */
  exitCode: z.number().int().min(-2147483648).max(2147483647).optional(),
  /** Runtime container ID once created. */
  containerId: z.string().max(128).optional(),
  /** Task IP on the overlay once attached. */
  ip: z.string().max(45).optional(),
  /** Health per the service's health check (`none` without one). */
  health: TaskHealthSchema.default("none"),
  /** When this status was observed (ms since epoch). */
  timestamp: TimestampMsSchema,
  /**
   * Restarts the worker made on its own while cut off from the managers (same task ID); they
   * count against the restart policy's max attempts.
   */
  localRestarts: z.number().int().min(0).max(1_000_000).optional(),
});
/** Observed task status. */
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** A task. */
export const TaskSchema = z.object({
  /** Task ID. */
  id: IdSchema,
  /** Owning service's ID. */
  serviceId: IdSchema,
  /** Slot number for replicated services (1-based); absent for global ones. */
  slot: z.number().int().min(1).max(1_000_000).optional(),
  /** Node the task is assigned to; absent while pending. Always set for global tasks. */
  nodeId: IdSchema.optional(),
  /** The service's specVersion this task runs. */
  specVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** State the manager wants (running, or a terminal state to stop it). */
  desiredState: TaskStateSchema,
  /** Last observed status. */
  status: TaskStatusSchema,
  /** Creation time (ms). */
  createdAt: TimestampMsSchema,
  /** Last update time (ms). */
  updatedAt: TimestampMsSchema,
  /**
   * What the task holds on its node, recorded from the spec it runs when it was created (cluster
   * feature level 2). Absent on tasks created before: the scheduler reads it from the service's
   * spec of the task's version then.
   */
  reserves: TaskReservesSchema.optional(),
}).superRefine((t, ctx) => {
  if (t.slot === undefined && t.nodeId === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["slot"],
      message:
        "is required unless nodeId is set (replicated tasks have a slot, global ones a node)",
    });
  }
});
/** A task. */
export type Task = z.infer<typeof TaskSchema>;

/** Task name as users see it: `<service>.<slot>` or `<service>.<nodeId>` for global tasks. */
export function taskName(serviceName: string, task: Pick<Task, "slot" | "nodeId" | "id">): string {
  return `${serviceName}.${task.slot ?? task.nodeId ?? task.id}`;
}

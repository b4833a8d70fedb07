/**
 * The task state machine. States are ordered and only move forward:
 *
 *   new < pending < assigned < accepted < preparing < starting < running
 *       < complete | failed | shutdown | rejected | orphaned   (terminal, equal rank)
 *
 * A task that failed is never restarted: the orchestrator creates a new task for the slot. The
 * same check runs on the manager (store updates) and on the worker (its step machine), so a late
 * or duplicated status report can never move a task back.
 */
import { z } from "zod";
import { FailedPreconditionError, ValidationError } from "../errors.ts";

/** Every task state, in order. */
export const TASK_STATES = [
  "new",
  "pending",
  "assigned",
  "accepted",
  "preparing",
  "starting",
  "running",
  "complete",
  "failed",
  "shutdown",
  "rejected",
  "orphaned",
] as const;

/** A task state. */
export const TaskStateSchema = z.enum(TASK_STATES);
/** A task state. */
export type TaskState = z.infer<typeof TaskStateSchema>;

/** The terminal states: a task in one of them never changes state again. */
export const TERMINAL_TASK_STATES: readonly TaskState[] = [
  "complete",
  "failed",
  "shutdown",
  "rejected",
  "orphaned",
];

const RUNNING_RANK = TASK_STATES.indexOf("running");

/** Rank of a state: 0 for new up to 6 for running; all terminal states share rank 7. */
export function taskStateOrder(state: TaskState): number {
  const i = TASK_STATES.indexOf(state);
  if (i < 0) throw new ValidationError("state", `unknown task state "${state}"`);
  return Math.min(i, RUNNING_RANK + 1);
}

/** Whether `state` is terminal (complete, failed, shutdown, rejected, orphaned). */
export function isTerminal(state: TaskState): boolean {
  return taskStateOrder(state) > RUNNING_RANK;
}

/**
 * Whether a task may go from `from` to `to`: staying in the same state is allowed (a repeated
 * report), moving is allowed only to a higher rank, and terminal states never move.
 */
export function canTransition(from: TaskState, to: TaskState): boolean {
  if (from === to) return true;
  if (isTerminal(from)) return false;
  return taskStateOrder(to) > taskStateOrder(from);
}

/**
 * Throws unless {@link canTransition} allows `from` → `to`: a ValidationError when either value
 * is not a task state, a FailedPreconditionError when the move goes backwards or leaves a
 * terminal state. `what` names the task in the message, e.g. `task "web.1"`.
 */
export function assertForward(from: TaskState, to: TaskState, what = "task"): void {
  for (const [field, value] of [["from", from], ["to", to]] as const) {
    if (!TaskStateSchema.safeParse(value).success) {
      throw new ValidationError(field, `unknown task state "${value}"`);
    }
  }
  if (canTransition(from, to)) return;
  throw new FailedPreconditionError(
    isTerminal(from)
      ? `Cannot move ${what} from ${from} to ${to}: ${from} is terminal`
      : `Cannot move ${what} from ${from} back to ${to}: task state only moves forward`,
  );
}

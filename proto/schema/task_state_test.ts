import assert from "node:assert/strict";
import { FailedPreconditionError, ValidationError } from "../errors.ts";
import {
  assertForward,
  canTransition,
  isTerminal,
  TASK_STATES,
  type TaskState,
  taskStateOrder,
  TERMINAL_TASK_STATES,
} from "./task_state.ts";

Deno.test("task states are ordered new < ... < running < terminal", () => {
  const live: TaskState[] = [
    "new",
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "starting",
    "running",
  ];
  live.forEach((s, i) => assert.equal(taskStateOrder(s), i));
  for (const t of TERMINAL_TASK_STATES) assert.equal(taskStateOrder(t), 7);
  assert.deepEqual(TASK_STATES.filter(isTerminal), [...TERMINAL_TASK_STATES]);
  assert.equal(isTerminal("running"), false);
  assert.equal(isTerminal("orphaned"), true);
});

Deno.test("canTransition: forward only, terminal never moves, same state is a no-op", () => {
  for (const from of TASK_STATES) {
    for (const to of TASK_STATES) {
      const expected = from === to ||
        (!isTerminal(from) && taskStateOrder(to) > taskStateOrder(from));
      assert.equal(canTransition(from, to), expected, `${from} -> ${to}`);
    }
  }
  assert.equal(canTransition("pending", "running"), true);
  assert.equal(canTransition("running", "failed"), true);
  assert.equal(canTransition("new", "rejected"), true);
  assert.equal(canTransition("running", "pending"), false);
  assert.equal(canTransition("failed", "running"), false);
  assert.equal(canTransition("complete", "failed"), false);
  assert.equal(canTransition("shutdown", "shutdown"), true);
});

Deno.test("assertForward throws typed errors", () => {
  assertForward("assigned", "running");
  assert.throws(
    () => assertForward("running", "starting", 'task "web.1"'),
    (e: unknown) =>
      e instanceof FailedPreconditionError &&
      e.message ===
        'Cannot move task "web.1" from running back to starting: task state only moves forward',
  );
  assert.throws(
    () => assertForward("failed", "running"),
    (e: unknown) => e instanceof FailedPreconditionError && /failed is terminal/.test(e.message),
  );
  assert.throws(
    () => assertForward("running", "exploded" as TaskState),
    (e: unknown) =>
      e instanceof ValidationError && e.field === "to" && /unknown task state/.test(e.message),
  );
  assert.throws(
    () => taskStateOrder("bogus" as TaskState),
    (e: unknown) => e instanceof ValidationError && e.field === "state",
  );
});

import assert from "node:assert/strict";
import { planReconcile } from "./reconcile.ts";
import { assignment } from "./_test_util.ts";

Deno.test("reconcile: a complete message is authoritative; known tasks are only updated", () => {
  const known = assignment({}, { id: "known", state: "running" });
  const fresh = assignment({}, { id: "fresh" });
  const resumed = assignment({}, { id: "resumed", state: "preparing" });
  const lost = assignment({}, { id: "lost", state: "running" });
  const done = assignment({}, { id: "done", state: "failed" });
  const plan = planReconcile(new Set(["known", "stale-1", "stale-2"]), {
    complete: true,
    assignments: [known, fresh, resumed, lost, done],
    removedTaskIds: [],
  });
  assert.deepEqual(plan.update.map((a) => a.task.id), ["known"]);
  assert.deepEqual(plan.create.map((a) => a.task.id), ["fresh", "resumed"]);
  assert.deepEqual(plan.lost.map((a) => a.task.id), ["lost"]);
  assert.deepEqual(plan.remove, ["stale-1", "stale-2"]);
});

Deno.test("reconcile: a delta removes only what it names", () => {
  const a = assignment({}, { id: "a" });
  const plan = planReconcile(new Set(["x", "y"]), {
    complete: false,
    assignments: [a],
    removedTaskIds: ["y", "unknown"],
  });
  assert.deepEqual(plan.create.map((t) => t.task.id), ["a"]);
  assert.deepEqual(plan.remove, ["y"]);
});

Deno.test("reconcile: a task listed twice in one message is planned once", () => {
  const fresh = assignment({}, { id: "fresh" });
  const known = assignment({}, { id: "known", state: "running" });
  const plan = planReconcile(new Set(["known"]), {
    complete: true,
    assignments: [fresh, known, fresh, known],
    removedTaskIds: [],
  });
  assert.deepEqual(plan.create.map((a) => a.task.id), ["fresh"]);
  assert.deepEqual(plan.update.map((a) => a.task.id), ["known"]);
});

import assert from "node:assert/strict";
import type { TaskState, TaskStatusUpdate } from "../proto/schema/mod.ts";
import { PermissionDeniedError, UnavailableError } from "../proto/errors.ts";
import { logger } from "../proto/log.ts";
import { ManualClock } from "../runtime/fake.ts";
import { StatusReporter } from "./status_reporter.ts";
import { until } from "./_test_util.ts";

const upd = (taskId: string, state: TaskState): TaskStatusUpdate => ({
  taskId,
  status: { state, message: "", health: "none", timestamp: 1 },
});

function setup(fail: (batch: TaskStatusUpdate[]) => Error | undefined = () => undefined) {
  const clock = new ManualClock(0);
  const sent: TaskStatusUpdate[][] = [];
  const r = new StatusReporter({
    clock,
    batchMs: 20,
    retryMinMs: 100,
    retryMaxMs: 400,
    log: logger("test"),
    send: (batch) => {
      const err = fail(batch);
      if (err) return Promise.reject(err);
      sent.push(batch);
      return Promise.resolve();
    },
  });
  return { clock, sent, r };
}

Deno.test("status reporter: coalesces within 20 ms, newest status per task wins", async () => {
  const { clock, sent, r } = setup();
  r.resume();
  r.report(upd("a", "accepted"));
  r.report(upd("b", "running"));
  await clock.advance(10);
  r.report(upd("a", "preparing"));
  await clock.advance(9);
  assert.equal(sent.length, 0);
  await clock.advance(1);
  await until(() => sent.length === 1, "a batch", clock);
  assert.deepEqual(sent[0].map((u) => `${u.taskId}:${u.status.state}`), [
    "a:preparing",
    "b:running",
  ]);
  assert.equal(r.pending, 0);
});

Deno.test("status reporter: paused keeps everything; failures retry with backoff; nothing is lost", async () => {
  let down = true;
  const { clock, sent, r } = setup(() => down ? new UnavailableError("manager down") : undefined);
  r.report(upd("a", "running"));
  await clock.advance(1_000);
  assert.equal(sent.length, 0, "paused until a session exists");
  r.resume();
  await clock.advance(20); // attempt 1 fails
  r.report(upd("a", "failed")); // terminal status arrives while retrying
  await clock.advance(100); // attempt 2 fails
  await clock.advance(200); // attempt 3 fails
  down = false;
  await clock.advance(400);
  await until(() => sent.length === 1, "delivery", clock);
  assert.deepEqual(sent[0].map((u) => u.status.state), ["failed"]);
  await r.idle();
  assert.equal(r.pending, 0);
});

Deno.test("status reporter: a permanently refused entry does not hold back the others", async () => {
  const { clock, sent, r } = setup((batch) =>
    batch.some((u) => u.taskId === "moved") ? new PermissionDeniedError("not your task") : undefined
  );
  r.resume();
  r.report(upd("moved", "running"));
  r.report(upd("mine", "complete"));
  await clock.advance(20);
  await until(() => r.pending === 0, "drained", clock);
  assert.deepEqual(sent.flat().map((u) => u.taskId), ["mine"]);
});

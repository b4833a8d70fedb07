import assert from "node:assert/strict";
import { RestartPolicySchema } from "../proto/schema/mod.ts";
import { decideRestart, pruneHistory } from "./restart_policy.ts";

const policy = (p: Record<string, unknown>) => RestartPolicySchema.parse(p);

Deno.test("restart policy: conditions none, on-failure and any", () => {
  assert.equal(decideRestart(policy({ condition: "none" }), 1, [], 0).restart, false);
  assert.equal(decideRestart(policy({ condition: "on-failure" }), 0, [], 0).restart, false);
  assert.equal(decideRestart(policy({ condition: "on-failure" }), 137, [], 0).restart, true);
  const any = decideRestart(policy({ condition: "any", delayMs: 250 }), 0, [], 0);
  assert.deepEqual(any, {
    restart: true,
    delayMs: 250,
    attempt: 1,
    reason: "exited with code 0; restart condition is any",
  });
});

Deno.test("restart policy: a container stopped as unhealthy is a failure", () => {
  const d = decideRestart(policy({ condition: "on-failure", delayMs: 10 }), "unhealthy", [], 0);
  assert.deepEqual(d, {
    restart: true,
    delayMs: 10,
    attempt: 1,
    reason: "unhealthy; restart condition is on-failure",
  });
  assert.equal(decideRestart(policy({ condition: "none" }), "unhealthy", [], 0).restart, false);
  const p = policy({ condition: "any", maxAttempts: 1 });
  assert.equal(decideRestart(p, "unhealthy", [5], 9).restart, false, "counted against max");
});

Deno.test("restart policy: a lost process (gone container, host reboot) is a failure", () => {
  const d = decideRestart(policy({ condition: "on-failure" }), "lost", [], 0);
  assert.equal(d.restart, true);
  assert.equal(d.reason, "lost; restart condition is on-failure");
});

Deno.test("restart policy: max attempts count within the window only", () => {
  const p = policy({ condition: "any", maxAttempts: 2, windowMs: 10_000 });
  assert.equal(decideRestart(p, 1, [1_000], 5_000).restart, true);
  const no = decideRestart(p, 1, [1_000, 2_000], 5_000);
  assert.deepEqual(no, {
    restart: false,
    reason: "gave up after 2 restart attempts within 10000 ms (max 2)",
  });
  // Once the old attempts leave the window, restarts are allowed again.
  const later = decideRestart(p, 1, [1_000, 2_000], 11_500);
  assert.equal(later.restart, true);
  assert.equal(later.restart && later.attempt, 2);
  // Without a window, every attempt counts; 0 attempts means unlimited.
  assert.equal(decideRestart(policy({ maxAttempts: 1 }), 1, [0], 1e12).restart, false);
  assert.equal(
    decideRestart(policy({ maxAttempts: 0 }), 1, new Array(500).fill(0), 1).restart,
    true,
  );
});

Deno.test("restart policy: pruning keeps what still counts", () => {
  const p = policy({ maxAttempts: 3, windowMs: 1_000 });
  assert.deepEqual(pruneHistory(p, [100, 900, 1_500], 2_000), [1_500]);
  const unbounded = pruneHistory(policy({ maxAttempts: 3 }), new Array(100).fill(7), 9);
  assert.ok(unbounded.length >= 3 && unbounded.length <= 16);
});

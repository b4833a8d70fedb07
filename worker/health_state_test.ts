import assert from "node:assert/strict";
import { initialHealth, observeProbe } from "./health_state.ts";

const check = { retries: 3, startPeriodMs: 10_000 };
const fail = { ok: false as const, error: "connection refused" };
const ok = { ok: true as const };

Deno.test("health: failures in the start period do not count while starting", () => {
  let s = initialHealth(0);
  for (let t = 1_000; t < 10_000; t += 1_000) s = observeProbe(s, check, fail, t);
  assert.equal(s.health, "starting");
  assert.equal(s.failures, 0);
  assert.equal(s.lastError, "connection refused");
  s = observeProbe(s, check, fail, 10_000);
  s = observeProbe(s, check, fail, 11_000);
  assert.equal(s.health, "starting");
  s = observeProbe(s, check, fail, 12_000);
  assert.equal(s.health, "unhealthy", "retries failures after the start period");
});

Deno.test("health: first success makes it healthy; retries failures in a row unhealthy; success heals", () => {
  let s = observeProbe(initialHealth(0), check, ok, 500);
  assert.equal(s.health, "healthy");
  // Once healthy, the start period no longer shields failures.
  s = observeProbe(s, check, fail, 600);
  s = observeProbe(s, check, fail, 700);
  assert.deepEqual([s.health, s.failures], ["healthy", 2]);
  s = observeProbe(s, check, ok, 800);
  assert.equal(s.failures, 0, "a success resets the count");
  for (const t of [900, 1_000, 1_100]) s = observeProbe(s, check, fail, t);
  assert.equal(s.health, "unhealthy");
  s = observeProbe(s, check, ok, 1_200);
  assert.equal(s.health, "healthy");
});

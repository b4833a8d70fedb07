import assert from "node:assert/strict";
import { HealthCheckSchema } from "../proto/schema/mod.ts";
import { ManualClock } from "../runtime/fake.ts";
import { HealthMonitor } from "./health_monitor.ts";
import { initialHealth } from "./health_state.ts";
import { until } from "./_test_util.ts";

Deno.test("health monitor: probes every interval; a probe past its timeout counts as failed", async () => {
  const clock = new ManualClock(0);
  const check = HealthCheckSchema.parse({
    type: "tcp",
    tcp: { port: 80 },
    intervalMs: 1_000,
    timeoutMs: 300,
    retries: 1,
  });
  const changes: string[] = [];
  let probes = 0;
  let hang = false;
  const monitor = new HealthMonitor({
    check,
    clock,
    initial: initialHealth(0),
    // A hanging probe only ends when its timeout aborts it.
    probe: (signal) => {
      probes++;
      if (!hang) return Promise.resolve({ ok: true });
      return new Promise((resolve) =>
        signal.addEventListener("abort", () => resolve({ ok: false, error: String(signal.reason) }))
      );
    },
    onChange: (h) => changes.push(h),
  });
  monitor.start();
  await clock.advance(999);
  assert.equal(probes, 0, "the first probe comes one interval after start");
  await clock.advance(1);
  await until(() => changes.length === 1, "healthy", clock);
  assert.deepEqual(changes, ["healthy"]);
  hang = true;
  await clock.advance(1_000);
  assert.equal(probes, 2);
  await clock.advance(299);
  assert.deepEqual(changes, ["healthy"], "still within the timeout");
  await clock.advance(1);
  await until(() => changes.length === 2, "unhealthy", clock);
  assert.match(monitor.state.lastError!, /timed out after 300 ms/);
  monitor.stop();
  await clock.advance(10_000);
  assert.equal(probes, 2, "no probes after stop");
  assert.equal(clock.pending, 0);
});

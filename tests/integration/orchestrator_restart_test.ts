/**
 * Restart policy and replica counts, end to end: on-failure with a delay and a maximum number
 * of attempts, success retiring an on-failure slot, scaling down stopping the highest slots and
 * scaling up filling the missing ones, and task history reaped to the configured count.
 */
import assert from "node:assert/strict";
import { isTerminal } from "../../proto/schema/mod.ts";
import { startSimCluster } from "../sim/workers/cluster.ts";
import { until } from "../sim/workers/managers.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";

Deno.test("orchestrator: on-failure restarts after the delay, gives up after max attempts; success retires", async () => {
  await using c = await startSimCluster({ workers: 2 });
  const DELAY_MS = 300;
  const failing = (await c.m.client.services.create({
    name: "flaky",
    image: SIM_IMAGES.job,
    env: ["SIM_EXIT_CODE=1", "SIM_RUN_MS=30"],
    restartPolicy: { condition: "on-failure", maxAttempts: 2, delayMs: DELAY_MS },
  })).id;
  const ok = (await c.m.client.services.create({
    name: "once",
    image: SIM_IMAGES.job,
    env: ["SIM_EXIT_CODE=0", "SIM_RUN_MS=30"],
    restartPolicy: { condition: "on-failure", delayMs: 0 },
  })).id;
  const settled = (id: string) =>
    c.tasks(id).length > 0 &&
    c.tasks(id).every((t) => isTerminal(t.desiredState) && isTerminal(t.status.state));
  await until(() => settled(failing) && c.tasks(failing).length === 3, "flaky gave up", 10_000);
  await until(() => settled(ok), "once done");
  // The first run and two restarts, each failed; the slot is retired, not replaced.
  const runs = c.tasks(failing);
  assert.deepEqual(runs.map((t) => t.status.state), ["failed", "failed", "failed"]);
  assert.deepEqual(runs.map((t) => t.slot), [1, 1, 1]);
  assert.equal(runs[2]!.desiredState, "failed", "retired: desired follows observed");
  for (let i = 1; i < runs.length; i++) {
    const gap = runs[i]!.createdAt - runs[i - 1]!.status.timestamp;
    assert.ok(gap >= DELAY_MS - 20, `restart ${i} came ${gap} ms after the failure`);
  }
  const once = c.tasks(ok);
  assert.equal(once.length, 1);
  assert.equal(once[0]!.status.state, "complete");
  assert.equal(once[0]!.desiredState, "complete");
  // Nothing more happens.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(c.tasks(failing).length, 3);
  assert.equal(c.tasks(ok).length, 1);
});

Deno.test("orchestrator: scale down stops the highest slots; scale up fills the missing ones", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const svc =
    (await c.m.client.services.create({ name: "web", image: SIM_IMAGES.web, replicas: 5 }))
      .id;
  await until(() => c.running(svc).length === 5, "5 running");
  const bySlot = new Map(c.running(svc).map((t) => [t.slot!, t.id]));
  await c.m.client.services.scale(svc, 2);
  await until(() => c.running(svc).length === 2, "2 running");
  assert.deepEqual(c.running(svc).map((t) => t.slot).sort(), [1, 2]);
  assert.deepEqual(c.running(svc).map((t) => t.id).sort(), [bySlot.get(1), bySlot.get(2)].sort());
  await until(
    () =>
      [3, 4, 5].every((s) =>
        c.tasks(svc).find((t) => t.id === bySlot.get(s))?.status.state === "shutdown"
      ),
    "slots 3-5 shut down by their workers",
  );
  await c.m.client.services.scale(svc, 4);
  await until(() => c.running(svc).length === 4, "4 running");
  assert.deepEqual(c.running(svc).map((t) => t.slot).sort(), [1, 2, 3, 4]);
  assert.equal(c.running(svc).find((t) => t.slot === 1)!.id, bySlot.get(1), "slot 1 untouched");
  assert.notEqual(c.running(svc).find((t) => t.slot === 3)!.id, bySlot.get(3), "a new task");
});

Deno.test("orchestrator: task history is reaped to the configured count per slot", async () => {
  const KEEP = 2;
  await using c = await startSimCluster({ workers: 2, orchestrator: { historyPerSlot: KEEP } });
  const svc = (await c.m.client.services.create({
    name: "crashy",
    image: SIM_IMAGES.job,
    env: ["SIM_EXIT_CODE=1", "SIM_RUN_MS=20"],
    restartPolicy: { condition: "any", delayMs: 0 },
  })).id;
  const seen = new Map<string, number>();
  // It churns; the reaper (every second) keeps the history bounded meanwhile.
  await until(() => {
    for (const t of c.tasks(svc)) seen.set(t.id, t.createdAt);
    return seen.size >= KEEP + 5 && c.tasks(svc).length < seen.size;
  }, `${KEEP + 5} restarts, some history already reaped`);
  const finished = () =>
    c.tasks(svc).filter((t) => isTerminal(t.desiredState) && isTerminal(t.status.state));
  await c.m.client.services.scale(svc, 0);
  await until(
    () => c.tasks(svc).length === KEEP && finished().length === KEEP,
    `history reaped to ${KEEP}`,
  );
  for (const t of c.tasks(svc)) seen.set(t.id, t.createdAt);
  const newest = [...seen].sort((a, b) => b[1] - a[1]).slice(0, KEEP).map(([id]) => id).sort();
  assert.deepEqual(c.tasks(svc).map((t) => t.id).sort(), newest, "the newest are kept");
});

/**
 * Node failure, end to end: real managers (in process), real workers over the fake runtime.
 * A killed worker's node is marked down within the down period and its tasks move; with
 * `disconnectGraceMs` they wait for the grace, and a worker back within it keeps them; every
 * worker silent at once is treated as a manager-side problem (no mass reschedule).
 */
import assert from "node:assert/strict";
import { startSimCluster } from "../sim/workers/cluster.ts";
import { until } from "../sim/workers/managers.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";

const DOWN_MS = 1_000;

Deno.test("orchestrator: a killed worker is marked down within the down period; its tasks move", async () => {
  await using c = await startSimCluster({ workers: 3, orchestrator: { nodeDownAfterMs: DOWN_MS } });
  const svc =
    (await c.m.client.services.create({ name: "web", image: SIM_IMAGES.web, replicas: 6 }))
      .id;
  await until(() => c.running(svc).length === 6, "6 tasks running");
  const victim = c.w.nodeIds[0]!;
  const onVictim = c.running(svc).filter((t) => t.nodeId === victim).map((t) => t.id);
  assert.equal(onVictim.length, 2, "spread: two tasks per node");

  const killedAt = Date.now();
  await c.w.kill(0);
  await until(() => c.node(0).status.state === "down", "victim marked down", 5_000);
  const downAfter = Date.now() - killedAt;
  // Silence is noticed between DOWN_MS and DOWN_MS + one reconcile/heartbeat period (plus load).
  assert.ok(downAfter >= DOWN_MS - 150, `marked down after ${downAfter} ms, too early`);
  assert.ok(downAfter <= DOWN_MS + 1_500, `marked down after ${downAfter} ms, too late`);
  assert.match(c.node(0).status.message, /no heartbeat/);

  await until(
    () => c.running(svc).length === 6 && c.running(svc).every((t) => t.nodeId !== victim),
    "6 tasks running on the two live nodes",
  );
  for (const id of onVictim) {
    const t = c.tasks(svc).find((x) => x.id === id)!;
    assert.equal(t.desiredState, "shutdown", "the lost task is retired");
  }
  // Replacements took the lost tasks' slots.
  const slots = c.running(svc).map((t) => t.slot).sort();
  assert.deepEqual(slots, [1, 2, 3, 4, 5, 6]);
});

Deno.test("orchestrator: disconnectGraceMs holds the tasks of a down node; a worker back in time keeps them", async () => {
  await using c = await startSimCluster({ workers: 3, orchestrator: { nodeDownAfterMs: DOWN_MS } });
  const GRACE_MS = 2_500;
  const svc = (await c.m.client.services.create({
    name: "web",
    image: SIM_IMAGES.web,
    replicas: 3,
    disconnectGraceMs: GRACE_MS,
  })).id;
  await until(() => c.running(svc).length === 3, "3 tasks running");
  const victim = c.w.nodeIds[0]!;
  const kept = c.running(svc).find((t) => t.nodeId === victim)!;
  const before = c.tasks(svc).length;

  // 1. Back within the grace: same task, no replacement, never restarted.
  const starts = c.w.nodes[0]!.runtime.calls.get("start");
  await c.w.kill(0);
  await until(() => c.node(0).status.state === "down", "victim marked down", 5_000);
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, 700)); // well inside the grace
  assert.equal(c.tasks(svc).length, before, "no replacement during the grace");
  assert.equal(c.tasks(svc).find((t) => t.id === kept.id)!.desiredState, "running");
  await c.w.restart(0);
  await c.w.nodes[0]!.agent!.waitConnected(5_000);
  assert.ok(Date.now() - downAt < GRACE_MS, "the worker came back within the grace");
  await until(() => c.node(0).status.state === "ready", "victim ready again");
  // Past the point where the grace would have ended: still the same task.
  await new Promise((r) => setTimeout(r, GRACE_MS - (Date.now() - downAt) + 500));
  const t = c.tasks(svc).find((x) => x.id === kept.id)!;
  assert.equal(t.desiredState, "running");
  assert.equal(t.status.state, "running");
  assert.equal(c.tasks(svc).length, before, "nothing was replaced");
  assert.equal(c.w.nodes[0]!.runtime.calls.get("start"), starts, "the container was re-adopted");
  assert.deepEqual(await c.w.runningContainers(0), [kept.id]);

  // 2. Not back: the task is replaced once the grace has passed, not before.
  await c.w.kill(0);
  await until(() => c.node(0).status.state === "down", "victim down again", 5_000);
  const down2 = Date.now();
  await until(
    () => c.tasks(svc).find((x) => x.id === kept.id)!.desiredState === "shutdown",
    "lost task retired after the grace",
    GRACE_MS + 3_000,
  );
  const waited = Date.now() - down2;
  assert.ok(waited >= GRACE_MS - 300, `replaced ${waited} ms after down: before the grace ended`);
  await until(
    () => c.running(svc).length === 3 && c.running(svc).every((x) => x.nodeId !== victim),
    "replacement running elsewhere",
  );
});

Deno.test("orchestrator: every worker silent at once → no node marked down, nothing rescheduled", async () => {
  await using c = await startSimCluster({ workers: 3, orchestrator: { nodeDownAfterMs: DOWN_MS } });
  const svc =
    (await c.m.client.services.create({ name: "web", image: SIM_IMAGES.web, replicas: 3 }))
      .id;
  await until(() => c.running(svc).length === 3, "3 tasks running");
  const ids = c.running(svc).map((t) => t.id).sort();
  await Promise.all([0, 1, 2].map((i) => c.w.kill(i)));
  await new Promise((r) => setTimeout(r, DOWN_MS * 3));
  for (const i of [0, 1, 2]) assert.equal(c.node(i).status.state, "ready", `node ${i}`);
  assert.deepEqual(c.tasks(svc).map((t) => t.id).sort(), ids, "no task created");
  assert.ok(c.tasks(svc).every((t) => t.desiredState === "running"), "no task retired");
  // They come back: the same tasks are running, none restarted.
  await Promise.all([0, 1, 2].map((i) => c.w.restart(i)));
  await c.w.waitConnected();
  await until(() => c.running(svc).length === 3, "3 tasks running again");
  assert.deepEqual(c.running(svc).map((t) => t.id).sort(), ids);
});

/**
 * Node availability, end to end: draining a node moves its tasks off gracefully (the worker
 * stops them and reports), pausing one keeps its tasks but places nothing new there. Global
 * services follow the eligible nodes: one task each, a joining node gets one, a drained one
 * loses it.
 */
import assert from "node:assert/strict";
import { startSimCluster } from "../sim/workers/cluster.ts";
import { until } from "../sim/workers/managers.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";

Deno.test("orchestrator: drain moves tasks off gracefully; pause places nothing new", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const svc =
    (await c.m.client.services.create({ name: "web", image: SIM_IMAGES.web, replicas: 6 }))
      .id;
  await until(() => c.running(svc).length === 6, "6 tasks running");
  const [n0, n1] = c.w.nodeIds as [string, string];
  const onN0 = c.running(svc).filter((t) => t.nodeId === n0).map((t) => t.id);
  assert.ok(onN0.length > 0);

  await c.m.client.nodes.update(n0, { availability: "drain" });
  await until(
    () => c.running(svc).length === 6 && c.running(svc).every((t) => t.nodeId !== n0),
    "6 tasks running off the drained node",
  );
  // Gracefully: the worker stopped each task and reported it, then removed its container.
  await until(
    () => onN0.every((id) => c.tasks(svc).find((t) => t.id === id)?.status.state === "shutdown"),
    "drained tasks observed shut down",
  );
  for (const id of onN0) {
    const t = c.tasks(svc).find((x) => x.id === id)!;
    assert.equal(t.desiredState, "shutdown");
    assert.equal(t.nodeId, n0);
  }
  await until(async () => (await c.w.runningContainers(0)).length === 0, "no container on n0");
  assert.equal(c.node(0).status.state, "ready", "a drained node stays ready");

  // Pause n1: its tasks stay, new ones go elsewhere.
  const onN1 = c.running(svc).filter((t) => t.nodeId === n1).map((t) => t.id).sort();
  await c.m.client.nodes.update(n1, { availability: "pause" });
  await c.m.client.services.scale(svc, 10);
  await until(() => c.running(svc).length === 10, "10 tasks running");
  const nowOnN1 = c.running(svc).filter((t) => t.nodeId === n1).map((t) => t.id).sort();
  assert.deepEqual(nowOnN1, onN1, "paused node kept its tasks and got no new one");
  assert.ok(c.running(svc).every((t) => t.nodeId !== n0), "drained node still gets nothing");

  // Active again: it takes placements (spread favours the emptier node).
  await c.m.client.nodes.update(n0, { availability: "active" });
  await c.m.client.services.scale(svc, 12);
  await until(() => c.running(svc).length === 12, "12 running");
  assert.ok(c.running(svc).some((t) => t.nodeId === n0), "reactivated node receives tasks");
});

Deno.test("orchestrator: global service: one task per eligible node, joining node gets one, drained loses it", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const svc = (await c.m.client.services.create({
    name: "agent",
    image: SIM_IMAGES.web,
    mode: "global",
  })).id;
  const perNode = () => {
    const m = new Map<string, number>();
    for (const t of c.running(svc)) m.set(t.nodeId!, (m.get(t.nodeId!) ?? 0) + 1);
    return m;
  };
  await until(() => c.running(svc).length === 3, "3 global tasks running");
  assert.deepEqual([...perNode().keys()].sort(), [...c.w.nodeIds].sort());
  assert.ok([...perNode().values()].every((n) => n === 1));
  // The manager's own node has no worker session: it is not eligible.
  const mgrNode = (await c.m.leader()).identity.nodeId;
  assert.ok(c.tasks(svc).every((t) => t.nodeId !== mgrNode));

  const more = await c.addWorkers(1);
  await until(() => c.running(svc).length === 4, "the joining node runs one");
  assert.equal(perNode().get(more.nodeIds[0]!), 1);

  await c.m.client.nodes.update(c.w.nodeIds[0]!, { availability: "drain" });
  await until(
    () => c.running(svc).length === 3 && !perNode().has(c.w.nodeIds[0]!),
    "the drained node's task stops",
  );
  const gone = c.tasks(svc).filter((t) => t.nodeId === c.w.nodeIds[0]);
  assert.ok(gone.every((t) => t.desiredState === "shutdown"));
  await until(
    () => gone.every((t) => c.tasks(svc).find((x) => x.id === t.id)?.status.state === "shutdown"),
    "observed shut down",
  );
  // Back to active: it gets a task again, still one per node.
  await c.m.client.nodes.update(c.w.nodeIds[0]!, { availability: "active" });
  await until(() => c.running(svc).length === 4, "4 again");
  assert.ok([...perNode().values()].every((n) => n === 1));
});

import assert from "node:assert/strict";
import { configureLogging } from "../../../proto/log.ts";
import { startSimManagers, until } from "./managers.ts";
import { spawnSimWorkers } from "./process.ts";
import { SIM_IMAGES } from "./images.ts";

configureLogging({ level: "error" });

Deno.test("sim workers: a child process of joined workers runs what the manager places", async () => {
  await using m = await startSimManagers({ dispatcher: { heartbeatPeriodMs: 200, batchMs: 10 } });
  await using w = await spawnSimWorkers({
    managers: m.apiAddresses,
    count: 20,
    join: { token: await m.workerToken() },
    persistent: false,
  });
  assert.equal(w.nodeIds.length, 20);
  const leader = await m.leader();
  // Joined through ClusterService.Join: real node records, ready once their sessions opened.
  await until(
    () => w.nodeIds.every((id) => leader.store.state.nodes.get(id)?.status.state === "ready"),
    "20 nodes ready",
  );
  assert.ok(w.nodeIds.every((id) => leader.store.state.nodes.get(id)?.role === "worker"));
  const svc = (await m.client.services.create({ name: "web", image: SIM_IMAGES.web, replicas: 40 }))
    .id;
  await until(
    () => m.tasksOf(svc).filter((t) => t.status.state === "running").length === 40,
    "40 running",
  );
  const perNode = new Map<string, number>();
  for (const t of m.tasksOf(svc)) perNode.set(t.nodeId!, (perNode.get(t.nodeId!) ?? 0) + 1);
  assert.deepEqual([...new Set(perNode.values())], [2], "spread evenly");
  const stats = await w.stats();
  assert.equal(stats.running, 40);
  assert.equal(stats.connected, 20);
  await w.stop();
});

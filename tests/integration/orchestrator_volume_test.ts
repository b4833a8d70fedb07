/**
 * Local volumes follow their data: a volume without a node is bound to the node its first task
 * lands on, durably (a `volume.bind` command), so later tasks go there even after every task
 * that used it has stopped. A volume mounted without a record gets one on that node.
 */
import assert from "node:assert/strict";
import { startSimCluster } from "../sim/workers/cluster.ts";
import { until } from "../sim/workers/managers.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";

Deno.test("orchestrator: an unbound volume is bound where its first task lands; later tasks follow", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const client = c.m.client;
  await client.volumes.create({ name: "data" });
  assert.equal((await client.volumes.inspect("data")).nodeId, undefined);
  const svc = (await client.services.create({
    name: "db",
    image: SIM_IMAGES.web,
    mounts: [{ type: "volume", source: "data", target: "/data" }, {
      type: "volume",
      source: "cache",
      target: "/cache",
    }],
  })).id;
  await until(() => c.running(svc).length === 1, "db running");
  const home = c.running(svc)[0]!.nodeId!;
  assert.equal((await client.volumes.inspect("data")).nodeId, home, "bound to the first node");
  const cache = await client.volumes.inspect("cache");
  assert.equal(cache.nodeId, home, "created on demand, on the same node");
  assert.equal(cache.driver, "local");

  // Nothing runs there any more; spread would pick the two other (empty) nodes first.
  await client.services.scale(svc, 0);
  await until(
    () => c.tasks(svc).every((t) => t.status.state === "shutdown"),
    "db shut down",
  );
  await client.services.scale(svc, 2);
  await until(() => c.running(svc).length === 2, "2 running");
  assert.ok(c.running(svc).every((t) => t.nodeId === home), "both on the volume's node");
});

import assert from "node:assert/strict";
import { FakeRuntime } from "../runtime/fake.ts";
import { VERSION } from "../proto/version.ts";
import { startWorkerNode, type WorkerNode } from "./node.ts";
import { fakeImages, IMAGES } from "./_test_util.ts";
import { eventually, freePort, startTestManager } from "./_test_manager.ts";

async function node(
  dataDir: string,
  runtime: FakeRuntime,
  managers: string[],
): Promise<WorkerNode> {
  return await startWorkerNode({
    nodeId: "w1",
    dataDir,
    runtime,
    managers,
    register: {
      hostname: "w1",
      addresses: { advertise: "127.0.0.1" },
      resources: { nanoCpus: 2e9, memoryBytes: 2 ** 30 },
      platform: { os: "linux", arch: "amd64" },
      version: VERSION,
    },
    reportBatchMs: 20,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
  });
}

Deno.test("agent: registers (failing over past a dead manager), runs assigned tasks, reports batched", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const svc = await m.createService({ name: "web", image: IMAGES.web, replicas: 2 });
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  const dead = `127.0.0.1:${freePort()}`;
  await using n = await node(dir, runtime, [dead, m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    assert.equal((await m.client.nodes.inspect("w1")).status.state, "ready");
    // Assignments arrive through the stream (no polling): both tasks run and are reported.
    await m.createTask({ id: "web-1", serviceId: svc, nodeId: "w1", slot: 1 });
    await m.createTask({ id: "web-2", serviceId: svc, nodeId: "w1", slot: 2 });
    await eventually(
      () => ["web-1", "web-2"].every((id) => m.task(id)?.status.state === "running"),
      "both tasks running on the manager",
    );
    assert.equal(m.task("web-1")!.status.containerId, "web-1");
    // Desired shutdown from the manager stops the task; the manager learns it.
    await m.setDesired("web-2", "shutdown");
    await eventually(() => m.task("web-2")?.status.state === "shutdown", "web-2 shut down");
    // Done on both sides: it leaves the assignments and the worker removes the container.
    await eventually(async () => (await runtime.list()).every((c) => c.id !== "web-2"), "removed");
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: manager gone → autonomy; back → reconnect, statuses reported, nothing restarted", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const svc = await m.createService({ name: "web", image: IMAGES.web });
  const job = await m.createService({
    name: "job",
    image: IMAGES.exit,
    env: ["WARREN_SLEEP_MS=1500", "WARREN_EXIT_CODE=0"],
    restartPolicy: { condition: "on-failure" },
  });
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  await using n = await node(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    await m.createTask({ id: "web-1", serviceId: svc, nodeId: "w1" });
    await m.createTask({ id: "job-1", serviceId: job, nodeId: "w1" });
    await eventually(() => m.task("job-1")?.status.state === "running", "job running");
    await eventually(() => m.task("web-1")?.status.state === "running", "web running");
    const starts = runtime.calls.get("start");

    await m.stop();
    await eventually(() => !n.agent.connected, "agent notices the manager is gone");
    // The job completes while no manager is reachable: kept, reported later.
    await eventually(() => n.worker.runner("job-1")?.status.state === "complete", "job done");
    assert.equal((await runtime.inspect("web-1")).state, "running", "tasks keep running");

    await m.restart();
    await n.agent.waitConnected(10_000);
    await eventually(() => m.task("job-1")?.status.state === "complete", "completion reported");
    assert.equal(m.task("web-1")?.status.state, "running");
    assert.equal(runtime.calls.get("start"), starts, "reconnect restarted nothing");
    assert.ok(n.agent.sessions >= 2);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import {
  applyPlan,
  countsByNode,
  CPU,
  GiB,
  node,
  nodes,
  oversubscribed,
  replicas,
  run,
  service,
  snapshot,
  task,
  volume,
} from "./_harness_test_util.ts";

Deno.test("pending reason aggregates every node's rejection in human units", () => {
  const big = service("big", { memoryBytes: 2 * GiB });
  const snap = snapshot({
    nodes: [
      node("a", { memoryBytes: GiB }),
      node("b", { memoryBytes: GiB }),
      node("c", { availability: "drain" }),
    ],
    services: [big],
  });
  const plan = run(snap, replicas("big", 2));
  assert.deepEqual(plan.place, []);
  assert.deepEqual(plan.pending, [
    {
      taskId: "big.1",
      serviceId: "big",
      reason: "no suitable node (3 nodes: 2 lack 2 GiB memory, 1 is drained)",
    },
    {
      taskId: "big.2",
      serviceId: "big",
      reason: "no suitable node (3 nodes: 2 lack 2 GiB memory, 1 is drained)",
    },
  ]);
});

Deno.test("placements earlier in the same plan count against the node", () => {
  const a = service("a", { nanoCpus: 3 * CPU });
  const b = service("b", { nanoCpus: 3 * CPU });
  const snap = snapshot({ nodes: nodes(2, { nanoCpus: 4 * CPU }), services: [a, b] });
  const plan = run(snap, [...replicas("a", 1), ...replicas("b", 2)]);
  assert.equal(plan.place.length, 2);
  assert.deepEqual(plan.pending.map((p) => [p.taskId, p.reason]), [
    ["b.2", "no suitable node (2 nodes: 2 lack 3 CPUs)"],
  ]);
  assert.deepEqual(oversubscribed(applyPlan(snap, plan)), []);
});

Deno.test("a task that fits later in the plan is still placed when an earlier one is pending", () => {
  const big = service("big", { memoryBytes: 16 * GiB });
  const small = service("small", { memoryBytes: GiB });
  const snap = snapshot({ nodes: nodes(2), services: [big, small] });
  const plan = run(snap, [...replicas("big", 1), ...replicas("small", 2)]);
  assert.deepEqual(plan.pending.map((p) => p.taskId), ["big.1"]);
  assert.equal(plan.place.length, 2);
});

Deno.test("constraints and image platform select the nodes", () => {
  const edge = service("edge", { constraints: ["node.labels.zone==edge", "node.role!=manager"] });
  const snap = snapshot({
    nodes: [
      node("m", { role: "manager", labels: { zone: "edge" } }),
      node("e1", { labels: { zone: "edge" } }),
      node("e2", { labels: { zone: "edge" }, arch: "arm64" }),
      node("c1", { labels: { zone: "core" } }),
    ],
    services: [edge],
  });
  const plan = run(snap, replicas("edge", 3, { imagePlatforms: ["linux/amd64"] }));
  assert.deepEqual(plan.place.map((p) => p.nodeId), ["e1", "e1", "e1"]);
  const arm = run(snap, replicas("edge", 1, { imagePlatforms: ["linux/arm64"] }));
  assert.deepEqual(arm.place.map((p) => p.nodeId), ["e2"]);
  const riscv = run(snap, replicas("edge", 1, { imagePlatforms: ["linux/riscv64"] }));
  assert.equal(
    riscv.pending[0]!.reason,
    "no suitable node (4 nodes: 1 does not satisfy node.labels.zone==edge, " +
      "1 does not satisfy node.role!=manager, 1 is linux/amd64; the image supports linux/riscv64, " +
      "1 is linux/arm64; the image supports linux/riscv64)",
  );
});

Deno.test("host-mode ports: one task per node and port", () => {
  const lb = service("lb", { hostPorts: [80] });
  const snap = snapshot({ nodes: nodes(2), services: [lb] });
  const plan = run(snap, replicas("lb", 3));
  assert.deepEqual(plan.place.map((p) => p.nodeId).sort(), ["n1", "n2"]);
  assert.equal(
    plan.pending[0]!.reason,
    "no suitable node (2 nodes: 2 have host port 80/tcp in use)",
  );
});

Deno.test("maxReplicasPerNode caps tasks per node", () => {
  const api = service("api", { maxReplicasPerNode: 2 });
  const snap = snapshot({ nodes: nodes(2), services: [api], tasks: [task("x", api, "n1")] });
  const plan = run(snap, replicas("api", 4, { firstSlot: 2 }));
  assert.equal(plan.place.length, 3);
  const c = countsByNode(applyPlan(snap, plan), "api");
  assert.deepEqual([c.get("n1"), c.get("n2")], [2, 2]);
  assert.equal(
    plan.pending[0]!.reason,
    "no suitable node (2 nodes: 2 run the maximum of 2 api tasks per node)",
  );
});

Deno.test("global tasks are bound to their node and explain a refusal", () => {
  const agent = service("agent", { mode: "global", memoryBytes: GiB });
  const snap = snapshot({
    nodes: [
      node("a"),
      node("b", { availability: "pause" }),
      node("c", { memoryBytes: 512 * 1024 ** 2 }),
    ],
    services: [agent],
  });
  const plan = run(
    snap,
    ["a", "b", "c", "gone"].map((n) => ({
      taskId: `agent.${n}`,
      serviceId: "agent",
      nodeId: n,
    })),
  );
  assert.deepEqual(plan.place, [{ taskId: "agent.a", serviceId: "agent", nodeId: "a" }]);
  assert.deepEqual(plan.pending.map((p) => p.reason), [
    "node b is paused",
    "node c lacks 1 GiB memory",
    "node gone does not exist",
  ]);
});

Deno.test("volumes: an unbound volume is bound by the plan and keeps its tasks together", () => {
  const db = service("db", { volumes: ["data"] });
  const snap = snapshot({ nodes: nodes(3), services: [db], volumes: [volume("data")] });
  const plan = run(snap, replicas("db", 2));
  assert.equal(plan.place.length, 2);
  assert.equal(plan.place[0]!.nodeId, plan.place[1]!.nodeId);
  assert.deepEqual(plan.volumeBindings, [
    { volumeName: "data", volumeId: "vol-data", nodeId: plan.place[0]!.nodeId },
  ]);
});

Deno.test("volumes: a bound volume pins the task; one created on demand is recorded", () => {
  const db = service("db", { volumes: ["data"] });
  const cache = service("cache", { volumes: ["scratch"] });
  const snap = snapshot({
    nodes: nodes(3),
    services: [db, cache],
    volumes: [volume("data", "n3")],
  });
  const plan = run(snap, [...replicas("db", 1), ...replicas("cache", 1)]);
  assert.equal(plan.place[0]!.nodeId, "n3");
  assert.deepEqual(plan.volumeBindings, [{ volumeName: "scratch", nodeId: plan.place[1]!.nodeId }]);
  const drained = snapshot({
    nodes: [node("n1"), node("n3", { availability: "drain" })],
    services: [db],
    volumes: [volume("data", "n3")],
  });
  assert.equal(
    run(drained, replicas("db", 1)).pending[0]!.reason,
    "no suitable node (2 nodes: 1 is drained, 1 is not n3, which holds volume data)",
  );
});

Deno.test("volumes: a volume in use by a running task lives on that task's node", () => {
  const db = service("db", { volumes: ["data"] });
  const snap = snapshot({ nodes: nodes(3), services: [db], tasks: [task("t", db, "n2")] });
  const plan = run(snap, replicas("db", 1, { firstSlot: 2 }));
  assert.equal(plan.place[0]!.nodeId, "n2");
  assert.deepEqual(plan.volumeBindings, []);
});

Deno.test("unknown service and malformed platform leave tasks pending", () => {
  const web = service("web");
  const snap = snapshot({ nodes: nodes(1), services: [web] });
  const plan = run(snap, [
    { taskId: "x.1", serviceId: "x" },
    { taskId: "web.1", serviceId: "web", imagePlatforms: ["linux//"] },
  ]);
  assert.deepEqual(plan.pending.map((p) => p.reason), [
    "service x does not exist",
    'image platform "linux//" must look like linux/amd64',
  ]);
});

Deno.test("the plan is stamped with the injected time and has an empty update bucket", () => {
  const plan = run(snapshot({}), []);
  assert.deepEqual(plan, {
    createdAtMs: 1000,
    place: [],
    stop: [],
    update: [],
    pending: [],
    volumeBindings: [],
  });
});

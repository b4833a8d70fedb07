import assert from "node:assert/strict";
import {
  applyPlan,
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
import { checkPlan } from "./check_plan.ts";
import type { Plan } from "./types.ts";

const app = service("app", { nanoCpus: 2 * CPU, memoryBytes: GiB });

Deno.test("a plan checked against its own snapshot is accepted whole", () => {
  const snap = snapshot({ nodes: nodes(3), services: [app] });
  const plan = run(snap, replicas("app", 6));
  const checked = checkPlan(plan, snap);
  assert.deepEqual(checked.rejected, []);
  assert.deepEqual(checked.plan, plan);
});

Deno.test("two plans from one snapshot: the second loses the resources the first took", () => {
  const snap = snapshot({ nodes: nodes(2, { nanoCpus: 4 * CPU }), services: [app] });
  const first = run(snap, replicas("app", 3), { seed: 1 });
  const second = run(snap, replicas("app", 3, { firstSlot: 4 }), { seed: 2 });
  const latest = applyPlan(snap, checkPlan(first, snap).plan);
  const checked = checkPlan(second, latest);
  assert.equal(checked.plan.place.length, 1);
  assert.equal(checked.rejected.length, 2);
  assert.match(checked.rejected[0]!.reason, /^node n\d lacks 2 CPUs$/);
  assert.deepEqual(oversubscribed(applyPlan(latest, checked.plan)), []);
});

Deno.test("placements on nodes drained, removed or now mismatched are rejected", () => {
  const edge = service("edge", { constraints: ["node.labels.zone==edge"] });
  const before = snapshot({
    nodes: [
      node("a", { labels: { zone: "edge" } }),
      node("b", { labels: { zone: "edge" } }),
      node("c", { labels: { zone: "edge" } }),
    ],
    services: [edge],
  });
  const plan: Plan = {
    ...run(before, []),
    place: [
      { taskId: "edge.1", serviceId: "edge", nodeId: "a" },
      { taskId: "edge.2", serviceId: "edge", nodeId: "b" },
      { taskId: "edge.3", serviceId: "edge", nodeId: "c" },
    ],
  };
  const latest = snapshot({
    nodes: [
      node("a", { availability: "drain", labels: { zone: "edge" } }),
      node("b", { labels: { zone: "core" } }),
    ],
    services: [edge],
  });
  assert.deepEqual(checkPlan(plan, latest).rejected.map((r) => r.reason), [
    "node a is drained",
    "node b does not satisfy node.labels.zone==edge",
    "node c no longer exists",
  ]);
});

Deno.test("already assigned, duplicated and orphaned placements are rejected", () => {
  const snap = snapshot({ nodes: nodes(2), services: [app], tasks: [task("app.1", app, "n2")] });
  const plan: Plan = {
    ...run(snap, []),
    place: [
      { taskId: "app.1", serviceId: "app", nodeId: "n1" },
      { taskId: "app.2", serviceId: "app", nodeId: "n1" },
      { taskId: "app.2", serviceId: "app", nodeId: "n2" },
      { taskId: "gone.1", serviceId: "gone", nodeId: "n1" },
    ],
  };
  const checked = checkPlan(plan, snap);
  assert.deepEqual(checked.plan.place.map((p) => p.taskId), ["app.2"]);
  assert.deepEqual(checked.rejected.map((r) => r.reason), [
    "task is already assigned to node n2",
    "task is placed twice in one plan",
    "service gone no longer exists",
  ]);
});

Deno.test("host ports and volume bindings taken by a concurrent plan are rejected", () => {
  const lb = service("lb", { hostPorts: [443] });
  const db = service("db", { volumes: ["data"] });
  const snap = snapshot({ nodes: nodes(2), services: [lb, db], volumes: [volume("data")] });
  const plan: Plan = {
    ...run(snap, []),
    place: [
      { taskId: "lb.1", serviceId: "lb", nodeId: "n1" },
      { taskId: "db.1", serviceId: "db", nodeId: "n1" },
    ],
    volumeBindings: [{ volumeName: "data", volumeId: "vol-data", nodeId: "n1" }],
  };
  const latest = snapshot({
    nodes: nodes(2),
    services: [lb, db],
    volumes: [volume("data", "n2")],
    tasks: [task("lb.9", lb, "n1")],
  });
  const checked = checkPlan(plan, latest);
  assert.deepEqual(checked.rejected.map((r) => r.reason), [
    "node n1 has host port 443/tcp in use",
    "node n1 is not n2, which holds volume data",
  ]);
  assert.deepEqual(checked.plan.volumeBindings, []);
  // Unchanged state: the binding is recomputed from the accepted placement.
  assert.deepEqual(checkPlan(plan, snap).plan.volumeBindings, plan.volumeBindings);
});

Deno.test("stop orders, updates and pending entries pass through", () => {
  const snap = snapshot({ nodes: nodes(1), services: [app] });
  const plan: Plan = {
    ...run(snap, []),
    stop: [{ taskId: "x", serviceId: "app", nodeId: "n1", reason: "node n1 is drained" }],
    pending: [{ taskId: "y", serviceId: "app", reason: "no suitable node (1 node: 1 is paused)" }],
  };
  assert.deepEqual(checkPlan(plan, snap).plan, plan);
});

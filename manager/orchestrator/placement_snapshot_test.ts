import assert from "node:assert/strict";
import { emptyState, indexTask } from "../state/fsm_state.ts";
import { node, service, task } from "../state/_fixtures_test_util.ts";
import { checkPlan, schedule, xoshiro128 } from "../scheduler/mod.ts";
import { placementSnapshot } from "./placement_snapshot.ts";

Deno.test("placement snapshot: a global task pinned to its node does not occupy it until assigned", () => {
  const s = emptyState();
  for (const id of ["n1", "n2"]) s.nodes.set(id, node(id));
  const sv = service("agent", {
    mode: "global",
    resources: { reservations: { nanoCpus: 1.5e9 } },
  });
  s.services.set(sv.id, sv);
  const pending = { ...task("g1", "agent", 1), nodeId: "n1" };
  delete (pending as { slot?: number }).slot;
  indexTask(s, { ...pending, status: { ...pending.status, state: "pending" } });
  const running = { ...task("g2", "agent", 1), nodeId: "n2" };
  delete (running as { slot?: number }).slot;
  indexTask(s, { ...running, status: { ...running.status, state: "running" } });

  const snap = placementSnapshot(s);
  assert.deepEqual(snap.tasks.map((t) => t.id), ["g2"]);
  // Placed and accepted: 1.5 of 2 CPUs on n1 fits once (it would not if counted twice).
  const plan = schedule(snap, { place: [{ taskId: "g1", serviceId: "agent", nodeId: "n1" }] }, {
    now: 1,
    rand: xoshiro128(1),
  });
  assert.deepEqual(plan.place.map((p) => [p.taskId, p.nodeId]), [["g1", "n1"]]);
  const checked = checkPlan(plan, placementSnapshot(s));
  assert.deepEqual(checked.rejected, []);
  assert.equal(checked.plan.place.length, 1);
});

Deno.test("placement snapshot: unchanged when every task that names a node is assigned", () => {
  const s = emptyState();
  s.nodes.set("n1", node("n1"));
  s.services.set("web", service("web"));
  indexTask(s, {
    ...task("t1", "web", 1),
    nodeId: "n1",
    status: { ...task("t1", "web", 1).status, state: "assigned" },
  });
  assert.deepEqual(placementSnapshot(s).tasks.map((t) => t.id), ["t1"]);
});

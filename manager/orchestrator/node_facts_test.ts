import assert from "node:assert/strict";
import type { Task } from "../../proto/schema/mod.ts";
import { node as mkNode, service as mkService } from "../state/_fixtures_test_util.ts";
import { emptyState } from "../state/fsm_state.ts";
import { ClusterView, snapshotFromState } from "../scheduler/mod.ts";
import { nodeFacts } from "./node_facts.ts";
import { reconcileReplicated } from "./replicated.ts";

const now = 100_000;

function running(id: string, slot: number, nodeId: string): Task {
  return {
    id,
    serviceId: "svc",
    slot,
    nodeId,
    specVersion: 1,
    desiredState: "running",
    status: { state: "running", message: "", health: "none", timestamp: 1000 },
    createdAt: 1000,
    updatedAt: 1000,
  };
}

/** State with nodes n1 (zone=a) and n2 (zone=b), and facts over it. */
function cluster(labels: { n1: Record<string, string>; n2: Record<string, string> }) {
  const state = emptyState();
  state.nodes.set("n1", { ...mkNode("n1"), labels: labels.n1 });
  state.nodes.set("n2", { ...mkNode("n2"), labels: labels.n2 });
  const wakes: number[] = [];
  const facts = nodeFacts(state, new ClusterView(snapshotFromState(state)), {
    nodeDownAfterMs: 10_000,
    wake: (at) => wakes.push(at),
  });
  return { state, facts, wakes };
}

Deno.test("nodeFacts: a replicated task leaves a node that no longer satisfies its constraints", () => {
  const svc = mkService("svc", { replicas: 1, constraints: ["node.labels.zone==a"] });
  // The operator moved n1 out of zone a (node update --label-add zone=b) under a running task.
  const { facts } = cluster({ n1: { zone: "b" }, n2: { zone: "b" } });
  assert.equal(
    facts.evacuate("n1", svc, now),
    "node host-n1 no longer satisfies node.labels.zone==a",
  );
  assert.equal(facts.lost("n1", svc, now), false, "the node still reports: its task is stopped");
  const r = reconcileReplicated(svc, [running("t1", 1, "n1")], facts, now);
  assert.deepEqual(r.desired, [{
    taskId: "t1",
    desiredState: "shutdown",
    reason: "node host-n1 no longer satisfies node.labels.zone==a",
  }]);
  assert.deepEqual(r.create.map((c) => c.slot), [1], "a replacement, for the scheduler to place");
});

Deno.test("nodeFacts: tasks stay on nodes that satisfy the constraints, or when there are none", () => {
  const { facts } = cluster({ n1: { zone: "a" }, n2: {} });
  const zoned = mkService("svc", { constraints: ["node.labels.zone==a", "node.role!=manager"] });
  assert.equal(facts.evacuate("n1", zoned, now), undefined);
  assert.equal(
    facts.evacuate("n2", zoned, now),
    "node host-n2 no longer satisfies node.labels.zone==a",
  );
  assert.equal(facts.evacuate("n2", mkService("free"), now), undefined);
  const r = reconcileReplicated(zoned, [running("t1", 1, "n1")], facts, now);
  assert.deepEqual([r.desired, r.create], [[], []]);
});

Deno.test("nodeFacts: drained, removed and long-down nodes as before; a down node's grace wakes", () => {
  const { state, facts, wakes } = cluster({ n1: {}, n2: {} });
  state.nodes.set("n1", { ...state.nodes.get("n1")!, availability: "drain" });
  const n2 = state.nodes.get("n2")!;
  state.nodes.set("n2", {
    ...n2,
    status: { ...n2.status, state: "down", lastHeartbeatAt: 50_000 },
  });
  const svc = mkService("svc", { disconnectGraceMs: 60_000 });
  assert.equal(facts.evacuate("n1", svc, now), "node host-n1 is drained");
  assert.equal(facts.evacuate("gone", svc, now), "node gone was removed");
  assert.equal(facts.lost("gone", svc, now), true);
  // Down since 60 000 (last heartbeat + 10 s): within its 60 s grace until 120 000.
  assert.equal(facts.evacuate("n2", svc, now), undefined);
  assert.deepEqual(wakes, [120_000]);
  assert.equal(facts.evacuate("n2", svc, 120_000), "node host-n2 is down");
  assert.equal(facts.lost("n2", svc, 120_000), true);
});

import assert from "node:assert/strict";
import type { Service, Task, TaskState } from "../../proto/schema/mod.ts";
import { node as mkNode, service as mkService } from "../state/_fixtures_test_util.ts";
import { type NodeFacts, reconcileReplicated } from "./replicated.ts";
import { reconcileGlobal } from "./global.ts";
import { restartDecision } from "./restart.ts";
import { reconcileUpdate, type UpdatePacing } from "./update.ts";
import { mergeActions } from "./actions.ts";
import { ClusterView, snapshotFromState } from "../scheduler/mod.ts";
import { emptyState } from "../state/fsm_state.ts";
import { globalEligibleNodes, globalPausedNodes } from "./eligibility.ts";
import { tasksToReap } from "./reaper.ts";
import { nodesToMarkDown } from "./node_health.ts";

const now = 100_000;
const noEvac: NodeFacts = { evacuate: () => undefined, lost: () => false };

function task(
  id: string,
  o: {
    slot?: number;
    nodeId?: string;
    state?: TaskState;
    desired?: TaskState;
    version?: number;
    at?: number;
    ts?: number;
    health?: Task["status"]["health"];
  } = {},
): Task {
  return {
    id,
    serviceId: "svc",
    ...(o.slot !== undefined ? { slot: o.slot } : {}),
    nodeId: o.nodeId ?? "n1",
    specVersion: o.version ?? 1,
    desiredState: o.desired ?? "running",
    status: {
      state: o.state ?? "running",
      message: "",
      health: o.health ?? "none",
      timestamp: o.ts ?? 1000,
    },
    createdAt: o.at ?? 1000,
    updatedAt: o.at ?? 1000,
  };
}

function svc(spec: Parameters<typeof mkService>[1] = {}, version = 1): Service {
  return { ...mkService("svc", spec), specVersion: version };
}

Deno.test("replicated: creates missing slots and stops the highest ones on scale-down", () => {
  const up = reconcileReplicated(svc({ replicas: 3 }), [task("a", { slot: 1 })], noEvac, now);
  assert.deepEqual(up.create.map((c) => c.slot), [2, 3]);
  const down = reconcileReplicated(
    svc({ replicas: 1 }),
    [task("a", { slot: 1 }), task("b", { slot: 2 }), task("c", { slot: 3 })],
    noEvac,
    now,
  );
  assert.deepEqual(down.desired.map((d) => [d.taskId, d.desiredState]), [["b", "shutdown"], [
    "c",
    "shutdown",
  ]]);
  assert.equal(down.create.length, 0);
});

Deno.test("replicated: dead tasks follow the restart policy (delay, on-failure, max attempts)", () => {
  const any = svc({ replicas: 1, restartPolicy: { condition: "any", delayMs: 5000 } });
  const soon = reconcileReplicated(
    any,
    [task("a", { slot: 1, state: "failed", ts: now - 1000 })],
    noEvac,
    now,
  );
  assert.equal(soon.create.length, 0);
  assert.equal(soon.wakeAt, now + 4000);
  const later = reconcileReplicated(
    any,
    [task("a", { slot: 1, state: "failed", ts: now - 6000 })],
    noEvac,
    now,
  );
  assert.deepEqual(later.create.map((c) => c.slot), [1]);
  assert.deepEqual(later.desired, [{ taskId: "a", desiredState: "shutdown", reason: "replaced" }]);

  const onFailure = svc({ replicas: 1, restartPolicy: { condition: "on-failure", delayMs: 0 } });
  const ok = reconcileReplicated(
    onFailure,
    [task("a", { slot: 1, state: "complete" })],
    noEvac,
    now,
  );
  assert.deepEqual(
    ok.desired.map((d) => d.desiredState),
    ["complete"],
    "an exit 0 retires the slot",
  );
  const retired = reconcileReplicated(
    onFailure,
    [task("a", { slot: 1, state: "complete", desired: "complete" })],
    noEvac,
    now,
  );
  assert.equal(retired.create.length, 0, "a retired slot stays done");

  const capped = svc({
    replicas: 1,
    restartPolicy: { condition: "on-failure", delayMs: 0, maxAttempts: 2 },
  });
  const hist = [
    task("c", { slot: 1, state: "failed", at: 3000, ts: 3000 }),
    task("b", { slot: 1, state: "failed", desired: "shutdown", at: 2000, ts: 2000 }),
    task("a", { slot: 1, state: "failed", desired: "shutdown", at: 1000, ts: 1000 }),
  ];
  const gaveUp = reconcileReplicated(capped, hist, noEvac, now);
  assert.equal(gaveUp.create.length, 0);
  assert.match(gaveUp.desired[0].reason, /gave up after 2/);
});

Deno.test("replicated: tasks on drained or long-down nodes are replaced", () => {
  const facts: NodeFacts = {
    evacuate: (n) => n === "n2" ? "node host-n2 is drained" : undefined,
    lost: () => false,
  };
  const r = reconcileReplicated(
    svc({ replicas: 2 }),
    [task("a", { slot: 1 }), task("b", { slot: 2, nodeId: "n2" })],
    facts,
    now,
  );
  assert.deepEqual(r.desired.map((d) => d.taskId), ["b"]);
  assert.deepEqual(r.create.map((c) => c.slot), [2]);
});

Deno.test("restart: orphaned tasks are always replaced and do not count as attempts", () => {
  const p = { condition: "none" as const, delayMs: 5000, maxAttempts: 1, windowMs: 0 };
  assert.deepEqual(restartDecision(task("a", { state: "orphaned" }), p, [], now), {
    kind: "replace",
  });
  assert.equal(restartDecision(task("a", { state: "failed" }), p, [], now).kind, "retire");
});

Deno.test("restart: restarts a worker made locally count against max attempts", () => {
  const p = { condition: "on-failure" as const, delayMs: 0, maxAttempts: 3, windowMs: 0 };
  const dead = (localRestarts?: number) => {
    const t = task("a", { state: "failed", ts: now - 10 });
    return localRestarts === undefined ? t : { ...t, status: { ...t.status, localRestarts } };
  };
  assert.equal(restartDecision(dead(), p, [], now).kind, "replace");
  // 1 + 1 local = 2 attempts: one more is allowed.
  assert.equal(restartDecision(dead(1), p, [], now).kind, "replace");
  // 1 + 3 local = 4 > 3: the slot is retired.
  const d = restartDecision(dead(3), p, [], now);
  assert.equal(d.kind, "retire");
  // An earlier task's local restarts count too: 1 + (1 + 1) = 3 attempts, then 4.
  const earlier = { ...dead(1), id: "b" };
  assert.equal(restartDecision(dead(), p, [earlier], now).kind, "replace");
  assert.equal(restartDecision(dead(1), p, [earlier], now).kind, "retire");
});

Deno.test("restart: failures of an earlier spec version do not count against max attempts", () => {
  // Three v1 tasks crashed (the bad image that made the user update); v2's first crash is its
  // first attempt, not the fourth (Swarm resets a slot's restart history on a new spec version).
  const p = { condition: "on-failure" as const, delayMs: 0, maxAttempts: 3, windowMs: 0 };
  const v1 = ["a", "b", "c"].map((id, i) =>
    task(id, { state: "failed", desired: "shutdown", version: 1, at: i, ts: i })
  );
  const dead = task("d", { state: "failed", version: 2, at: 10, ts: now - 10 });
  assert.equal(restartDecision(dead, p, v1, now).kind, "replace");
  // Failures of the same version still count: 3 earlier v2 ones + this one = 4 > 3.
  const v2 = v1.map((t) => ({ ...t, specVersion: 2 }));
  assert.equal(restartDecision(dead, p, v2, now).kind, "retire");
});

Deno.test("global: one task per eligible node; ineligible nodes lose theirs", () => {
  const g = svc({ mode: "global", replicas: undefined });
  const r = reconcileGlobal(
    g,
    [task("a", { nodeId: "n1" }), task("b", { nodeId: "n3" })],
    new Set(["n1", "n2"]),
    now,
  );
  assert.deepEqual(r.create.map((c) => c.nodeId), ["n2"]);
  assert.deepEqual(r.desired.map((d) => d.taskId), ["b"]);
});

Deno.test("global: a paused node keeps its running task, gets no new one, restarts none", () => {
  const g = svc({ mode: "global", replicas: undefined });
  const state = emptyState();
  state.nodes.set("n1", mkNode("n1"));
  state.nodes.set("n2", { ...mkNode("n2"), availability: "pause" });
  state.nodes.set("n3", { ...mkNode("n3"), availability: "drain" });
  const view = new ClusterView(snapshotFromState(state));
  const eligible = globalEligibleNodes(view, g);
  const paused = globalPausedNodes(view, g);
  assert.deepEqual([...eligible], ["n1"]);
  assert.deepEqual([...paused], ["n2"]);
  const running = [
    task("a", { nodeId: "n1" }),
    task("b", { nodeId: "n2" }),
    task("c", { nodeId: "n3" }),
  ];
  const r = reconcileGlobal(g, running, eligible, now, paused);
  assert.deepEqual(r.desired.map((d) => d.taskId), ["c"], "only the drained node's task stops");
  assert.deepEqual(r.create, [], "no new task on the paused node");
  const died = [task("a", { nodeId: "n1" }), task("b", { nodeId: "n2", state: "failed" })];
  const d = reconcileGlobal(g, died, eligible, now, paused);
  assert.deepEqual(d.desired.map((x) => x.taskId), ["b"]);
  assert.deepEqual(d.create, []);
});

Deno.test("global: restart delays on several nodes wake at the earliest", () => {
  const g = svc({ mode: "global", replicas: undefined, restartPolicy: { delayMs: 1_000 } });
  const dead = (id: string, nodeId: string, ts: number) =>
    task(id, { nodeId, state: "failed", ts, at: ts });
  const r = reconcileGlobal(
    g,
    [dead("a", "n1", now - 200), dead("b", "n2", now - 800), dead("c", "n3", now - 500)],
    new Set(["n1", "n2", "n3"]),
    now,
  );
  assert.equal(r.create.length, 0);
  assert.equal(r.wakeAt, now - 800 + 1_000);
});

/** One orchestrator pass over a replicated service: the updater's actions, then the reconciler's. */
function replicatedPass(
  s: Service,
  tasks: Task[],
  pacing: UpdatePacing,
  at: number,
  nodes: NodeFacts = noEvac,
) {
  const step = reconcileUpdate(s, tasks, pacing, at, { nodes });
  return { ...step, actions: mergeActions(step.actions, reconcileReplicated(s, tasks, nodes, at)) };
}

Deno.test("update: stop-first in batches of parallelism, each new task after the old one stopped", () => {
  const s = svc({ replicas: 3, updateConfig: { parallelism: 2, monitorMs: 1000 } }, 2);
  const old = [1, 2, 3].map((i) => task(`o${i}`, { slot: i, version: 1 }));
  const pacing = { lastBatchAt: 0 };
  const first = replicatedPass(s, old, pacing, now);
  assert.equal(first.status?.state, "updating");
  assert.deepEqual(first.actions.desired.map((d) => d.taskId), ["o1", "o2"]);
  assert.deepEqual(first.actions.create, [], "no new task while the old ones run");
  const st = { state: "updating" as const, message: "", startedAt: now };
  const u = { ...s, updateStatus: st };
  // o1 stopped, o2 still stopping (its stop grace period): only slot 1 gets its new task, and
  // slot 3 waits (two slots in flight).
  const stopping = [
    task("o1", { slot: 1, desired: "shutdown", state: "shutdown" }),
    task("o2", { slot: 2, desired: "shutdown", state: "running" }),
    old[2]!,
  ];
  const half = replicatedPass(u, stopping, pacing, now + 100);
  assert.deepEqual(half.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 2]]);
  assert.deepEqual(half.actions.desired, []);
  assert.equal(half.status, undefined, "still updating");
  // Batch 1 running but still monitored: nothing more yet.
  const mid = [
    task("n1", { slot: 1, version: 2, at: now, ts: now + 100 }),
    task("n2", { slot: 2, version: 2, at: now, ts: now + 100 }),
    task("o1", { slot: 1, desired: "shutdown", state: "shutdown" }),
    task("o2", { slot: 2, desired: "shutdown", state: "shutdown" }),
    old[2]!,
  ];
  const waiting = replicatedPass(u, mid, pacing, now + 500);
  assert.deepEqual(waiting.actions.desired, []);
  assert.equal(waiting.actions.wakeAt, now + 1100, "a pass is due when the monitor period ends");
  const next = replicatedPass(u, mid, pacing, now + 2000);
  assert.deepEqual(next.actions.desired.map((d) => d.taskId), ["o3"]);
  assert.deepEqual(next.actions.create, []);
  // The last slot's old task has stopped: its new task is created, and the update is not done
  // before that task has been watched for the monitor period.
  const o3Stopped = task("o3", { slot: 3, desired: "shutdown", state: "shutdown" });
  const refill = replicatedPass(u, [...mid.slice(0, 4), o3Stopped], pacing, now + 2100);
  assert.deepEqual(refill.actions.create.map((c) => [c.slot, c.specVersion]), [[3, 2]]);
  assert.equal(refill.status, undefined, "not completed before slot 3's new task settles");
  const done = replicatedPass(
    u,
    [...mid.slice(0, 4), o3Stopped, task("n3", { slot: 3, version: 2, at: now, ts: now + 2200 })],
    pacing,
    now + 5000,
  );
  assert.equal(done.status?.state, "completed");
});

Deno.test("update: a stop-first slot waits for its old task, unless that task's node is lost", () => {
  const s = svc({ replicas: 2, updateConfig: { parallelism: 1, monitorMs: 0 } }, 2);
  const u = { ...s, updateStatus: { state: "updating" as const, message: "", startedAt: now } };
  const pacing = { lastBatchAt: now };
  const tasks = [
    task("o1", { slot: 1, nodeId: "n2", desired: "shutdown", state: "running" }),
    task("o2", { slot: 2, version: 1 }),
  ];
  // The reconciler does not take the emptied slot for a missing one, and the waiting slot is
  // the one batch parallelism allows.
  assert.deepEqual(reconcileReplicated(u, tasks, noEvac, now + 1).create, []);
  const wait = replicatedPass(u, tasks, pacing, now + 1);
  assert.deepEqual(wait.actions.create, []);
  assert.deepEqual(wait.actions.desired, [], "slot 2 waits for slot 1");
  assert.equal(wait.status, undefined);
  // Not yet on a worker (pending): nothing runs, nothing to wait for.
  const pending = [task("o1", { slot: 1, desired: "shutdown", state: "pending" }), tasks[1]!];
  assert.deepEqual(replicatedPass(u, pending, pacing, now + 1).actions.create.map((c) => c.slot), [
    1,
  ]);
  // Its node removed or down past the disconnect grace: the task is given up on.
  const lostN2: NodeFacts = { evacuate: () => undefined, lost: (n) => n === "n2" };
  const gone = replicatedPass(u, tasks, pacing, now + 1, lostN2);
  assert.deepEqual(gone.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 2]]);
});

Deno.test("update: start-first creates the new task at once and stops the old one once it runs", () => {
  const s = svc({ replicas: 1, updateConfig: { order: "start-first", monitorMs: 0 } }, 2);
  const o1 = task("o1", { slot: 1, version: 1 });
  const first = replicatedPass(s, [o1], { lastBatchAt: 0 }, now);
  assert.deepEqual(first.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 2]]);
  assert.deepEqual(first.actions.desired, []);
  const u = { ...s, updateStatus: { state: "updating" as const, message: "", startedAt: now } };
  const running = [task("n1", { slot: 1, version: 2, at: now, ts: now }), o1];
  const retire = replicatedPass(u, running, { lastBatchAt: now }, now + 1);
  assert.deepEqual(retire.actions.desired.map((d) => d.taskId), ["o1"]);
  assert.deepEqual(retire.actions.create, []);
});

Deno.test("update: start-first with a health check stops the old task only once the new is healthy", () => {
  const s = svc({
    replicas: 1,
    healthCheck: { type: "tcp", tcp: { port: 80 }, intervalMs: 1000 },
    updateConfig: { order: "start-first", monitorMs: 0 },
  }, 2);
  const u = { ...s, updateStatus: { state: "updating" as const, message: "", startedAt: now } };
  const o1 = task("o1", { slot: 1, version: 1, health: "healthy" });
  // Running, but its health check has not passed yet: the old task keeps serving (as in Swarm,
  // where a task with a health check only counts as running once healthy).
  const starting = task("n1", { slot: 1, version: 2, at: now, ts: now, health: "starting" });
  const wait = replicatedPass(u, [starting, o1], { lastBatchAt: now }, now + 1);
  assert.deepEqual(wait.actions.desired, []);
  const unhealthy = { ...starting, status: { ...starting.status, health: "unhealthy" as const } };
  assert.deepEqual(
    replicatedPass(u, [unhealthy, o1], { lastBatchAt: now }, now + 1).actions.desired,
    [],
  );
  const healthy = { ...starting, status: { ...starting.status, health: "healthy" as const } };
  const retire = replicatedPass(u, [healthy, o1], { lastBatchAt: now }, now + 1);
  assert.deepEqual(retire.actions.desired.map((d) => d.taskId), ["o1"]);
});

Deno.test("update: a new task failing in the last batch pauses or rolls back, not completes", () => {
  const cfg = { parallelism: 1, monitorMs: 5_000, order: "start-first" as const };
  const st = { state: "updating" as const, message: "", startedAt: now };
  // One replica: its new task ran for a moment, then exited before its monitor period ended;
  // the old task still runs beside it (start-first). Nothing is left to update or in flight.
  const tasks = [
    task("n1", { slot: 1, version: 2, state: "failed", at: now, ts: now + 3_000 }),
    task("o1", { slot: 1, version: 1 }),
  ];
  const paused = reconcileUpdate(
    { ...svc({ replicas: 1, updateConfig: cfg }, 2), updateStatus: st },
    tasks,
    { lastBatchAt: now },
    now + 3_001,
  );
  assert.equal(paused.status?.state, "paused");
  const rb = svc({ replicas: 1, updateConfig: { ...cfg, failureAction: "rollback" } }, 2);
  const rolled = reconcileUpdate(
    { ...rb, previousSpec: rb.spec, updateStatus: st },
    tasks,
    { lastBatchAt: now },
    now + 3_001,
  );
  assert.equal(rolled.rollback, true);
  assert.equal(rolled.status?.state, "rollback_started");
  // stop-first: the old task has stopped, the new one failed.
  const stopFirst = [
    task("n1", { slot: 1, version: 2, state: "failed", at: now, ts: now + 3_000 }),
    task("o1", { slot: 1, version: 1, desired: "shutdown", state: "shutdown" }),
  ];
  const sf = svc({ replicas: 1, updateConfig: { ...cfg, order: "stop-first" } }, 2);
  assert.equal(
    reconcileUpdate({ ...sf, updateStatus: st }, stopFirst, { lastBatchAt: now }, now + 3_001)
      .status?.state,
    "paused",
  );
});

Deno.test("update: failures beyond the ratio pause or roll back", () => {
  const base = {
    replicas: 2,
    updateConfig: { parallelism: 1, monitorMs: 1000, maxFailureRatio: 0 },
  };
  const st = { state: "updating" as const, message: "", startedAt: now };
  const tasks = [
    task("n1", { slot: 1, version: 2, state: "failed", at: now + 1 }),
    task("o2", { slot: 2, version: 1 }),
  ];
  const paused = reconcileUpdate(
    { ...svc(base, 2), updateStatus: st },
    tasks,
    { lastBatchAt: 0 },
    now + 10,
  );
  assert.equal(paused.status?.state, "paused");
  assert.match(paused.status!.message, /1 new task\(s\) failed, of 2 to update/);
  const rb = svc({ ...base, updateConfig: { ...base.updateConfig, failureAction: "rollback" } }, 2);
  const rolled = reconcileUpdate({ ...rb, previousSpec: rb.spec, updateStatus: st }, tasks, {
    lastBatchAt: 0,
  }, now + 10);
  assert.equal(rolled.rollback, true);
  assert.equal(rolled.status?.state, "rollback_started");
});

Deno.test("update: a rollback whose new tasks fail pauses as a rollback, as Swarm's says", () => {
  const cfg = { parallelism: 1, monitorMs: 5_000, maxFailureRatio: 0 };
  const st = { state: "rollback_started" as const, message: "", startedAt: now };
  // The rollback's own new task (version 3, the previous spec again) failed in its monitor.
  const tasks = [
    task("r1", { slot: 1, version: 3, state: "failed", at: now, ts: now + 1_000 }),
    task("o2", { slot: 2, version: 2 }),
  ];
  const paused = reconcileUpdate(
    { ...svc({ replicas: 2, rollbackConfig: cfg }, 3), sameSpecVersion: 1, updateStatus: st },
    tasks,
    { lastBatchAt: now },
    now + 1_001,
  );
  assert.equal(paused.status?.state, "paused");
  assert.match(
    paused.status!.message,
    /1 new task\(s\) failed, of 2 to update .*: rollback paused$/,
  );
  assert.equal(paused.rollback, undefined, "a rollback is not rolled back");
});

Deno.test("update: a rollback replaces only the tasks of the version it undoes", () => {
  // v1 on slots 2-3; the failed update got slot 1 to v2; the rollback made v3 = v1's spec.
  const st = { state: "rollback_started" as const, message: "", startedAt: now };
  const s: Service = {
    ...svc({ replicas: 3, rollbackConfig: { parallelism: 3, monitorMs: 1000 } }, 3),
    sameSpecVersion: 1,
    updateStatus: st,
  };
  const tasks = [
    task("n1", { slot: 1, version: 2 }),
    task("o2", { slot: 2, version: 1 }),
    task("o3", { slot: 3, version: 1 }),
  ];
  const step = replicatedPass(s, tasks, { lastBatchAt: 0 }, now);
  assert.deepEqual(step.actions.desired.map((d) => d.taskId), ["n1"]);
  // The rollback config's order is stop-first (the default): slot 1's v1-spec task waits
  // until the v2 task has stopped.
  assert.deepEqual(step.actions.create, []);
  const stopping = [{ ...tasks[0]!, desiredState: "shutdown" as const }, tasks[1]!, tasks[2]!];
  assert.deepEqual(replicatedPass(s, stopping, { lastBatchAt: now }, now + 1).actions.create, []);
  const stopped = [
    { ...stopping[0]!, status: { ...stopping[0]!.status, state: "shutdown" as const } },
    tasks[1]!,
    tasks[2]!,
  ];
  assert.deepEqual(
    replicatedPass(s, stopped, { lastBatchAt: now }, now + 2).actions.create.map((
      c,
    ) => [c.slot, c.specVersion]),
    [[1, 3]],
  );
  // Once slot 1 runs v3, the rollback is complete with the v1 tasks untouched.
  const after = [task("r1", { slot: 1, version: 3, at: now, ts: now }), tasks[1]!, tasks[2]!];
  assert.equal(
    reconcileUpdate(s, after, { lastBatchAt: 0 }, now + 2000).status?.state,
    "rolled_back",
  );
  // Without the marker (a plain update to v3) every older task would be replaced.
  const { sameSpecVersion: _, ...plain } = s;
  assert.equal(reconcileUpdate(plain, tasks, { lastBatchAt: 0 }, now).actions.desired.length, 3);
});

Deno.test("update: a global service rolls node by node; start-first keeps the old task", () => {
  const g = svc({ mode: "global", replicas: undefined, updateConfig: { parallelism: 1 } }, 2);
  const eligible = new Set(["n1", "n2", "n3"]);
  const old = ["n1", "n2", "n3"].map((n) => task(`o-${n}`, { nodeId: n, version: 1 }));
  const step = reconcileUpdate(g, old, { lastBatchAt: 0 }, now, { eligible });
  assert.equal(step.status?.state, "updating");
  assert.deepEqual(step.actions.desired.map((d) => d.taskId), ["o-n1"]);
  // stop-first: n1's new task comes from reconcileGlobal once the old one has stopped.
  assert.deepEqual(step.actions.create, []);
  const ug = { ...g, updateStatus: { state: "updating" as const, message: "", startedAt: now } };
  const stopping = [{ ...old[0]!, desiredState: "shutdown" as const }, old[1]!, old[2]!];
  assert.deepEqual(reconcileGlobal(ug, stopping, eligible, now).create, []);
  const waiting = reconcileUpdate(ug, stopping, { lastBatchAt: now }, now + 1, { eligible });
  assert.deepEqual(waiting.actions.desired, [], "n2 waits: n1 is in flight");
  const stopped = [
    { ...stopping[0]!, status: { ...stopping[0]!.status, state: "shutdown" as const } },
    old[1]!,
    old[2]!,
  ];
  assert.deepEqual(reconcileGlobal(ug, stopped, eligible, now).create, [
    { serviceId: "svc", nodeId: "n1", specVersion: 2 },
  ]);
  assert.deepEqual(
    reconcileUpdate(ug, stopped, { lastBatchAt: now }, now + 1, { eligible }).actions.desired,
    [],
    "n1 stays in flight while its new task is created",
  );
  // Tasks on a node that no longer runs the service are not the updater's.
  const away = reconcileUpdate(g, old, { lastBatchAt: 0 }, now, { eligible: new Set(["n2"]) });
  assert.deepEqual(away.actions.desired.map((d) => d.taskId), ["o-n2"]);

  // start-first: the new task starts beside the old one, which reconcileGlobal leaves alone
  // until the updater retires it once the new one runs.
  const sf = {
    ...g,
    spec: { ...g.spec, updateConfig: { ...g.spec.updateConfig, order: "start-first" as const } },
  };
  const first = reconcileUpdate(sf, old, { lastBatchAt: 0 }, now, { eligible });
  assert.deepEqual(first.actions.desired, []);
  assert.deepEqual(first.actions.create, [{ serviceId: "svc", nodeId: "n1", specVersion: 2 }]);
  const starting = [
    task("new-n1", { nodeId: "n1", version: 2, state: "starting", at: now }),
    ...old,
  ];
  assert.deepEqual(reconcileGlobal(sf, starting, eligible, now).desired, []);
  const running = [task("new-n1", { nodeId: "n1", version: 2, at: now, ts: now }), ...old];
  const st = { state: "updating" as const, message: "", startedAt: now };
  const retire = reconcileUpdate(
    { ...sf, updateStatus: st },
    running,
    { lastBatchAt: now },
    now + 1,
    { eligible },
  );
  assert.deepEqual(retire.actions.desired.map((d) => d.taskId), ["o-n1"]);
  // A rollback (v3 = v1's spec) mid start-first: the older v1 task is the node's current one,
  // the v2 task is the updater's to retire; neither is stopped as "one task per node".
  const rolled = { ...sf, specVersion: 3, sameSpecVersion: 1 };
  const mixed = [task("new-n1", { nodeId: "n1", version: 2, at: now }), old[0]!];
  assert.deepEqual(reconcileGlobal(rolled, mixed, new Set(["n1"]), now).desired, []);
  const back = reconcileUpdate(
    { ...rolled, updateStatus: { state: "rollback_started", message: "", startedAt: now } },
    mixed,
    { lastBatchAt: 0 },
    now,
    { eligible: new Set(["n1"]) },
  );
  assert.deepEqual(back.actions.desired.map((d) => d.taskId), ["new-n1"]);
  assert.deepEqual(back.actions.create, []);
  // Two tasks of the same version on one node are still one too many: the older goes.
  const twins = [
    task("x", { nodeId: "n1", version: 2, at: 2 }),
    task("y", { nodeId: "n1", version: 2 }),
  ];
  assert.deepEqual(reconcileGlobal(sf, twins, new Set(["n1"]), now).desired.map((d) => d.taskId), [
    "x",
  ]);
});

Deno.test("update: a slot the restart policy gave up on gets the new spec's task", () => {
  // Slot 1 crashed past max attempts on v1 and was retired; the user updates to v2 (the fix).
  const spec = {
    replicas: 2,
    restartPolicy: { condition: "on-failure" as const, maxAttempts: 1 },
    updateConfig: { parallelism: 1, monitorMs: 0 },
  };
  const s = svc(spec, 2);
  const retired = task("r1", { slot: 1, version: 1, state: "failed", desired: "failed" });
  const o2 = task("o2", { slot: 2, version: 1 });
  const first = replicatedPass(s, [retired, o2], { lastBatchAt: 0 }, now);
  assert.equal(first.status?.state, "updating");
  assert.deepEqual(first.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 2]]);
  assert.deepEqual(first.actions.desired, [], "slot 2 waits: slot 1 is the batch");
  // Once every slot runs v2, the update completes with both replicas back.
  const u = { ...s, updateStatus: { state: "updating" as const, message: "", startedAt: now } };
  const n1 = task("n1", { slot: 1, version: 2, at: now, ts: now });
  const n2 = task("n2", { slot: 2, version: 2, at: now, ts: now });
  const stopped = { ...o2, desiredState: "shutdown" as const };
  const done = replicatedPass(u, [n1, retired, n2, stopped], { lastBatchAt: 0 }, now + 1);
  assert.equal(done.status?.state, "completed");
  // A retired slot of the current spec stays retired, and a rollback leaves it alone (Swarm).
  const same = replicatedPass(s, [{ ...retired, specVersion: 2 }, n2], { lastBatchAt: 0 }, now);
  assert.deepEqual(same.actions.create, []);
  const rb = {
    ...s,
    updateStatus: { state: "rollback_started" as const, message: "", startedAt: now },
  };
  assert.deepEqual(replicatedPass(rb, [retired, n2], { lastBatchAt: 0 }, now).actions.create, []);
  // The same for a global service's node.
  const g = svc({ ...spec, mode: "global", replicas: undefined }, 2);
  const eligible = new Set(["n1"]);
  const gr = task("g1", { nodeId: "n1", version: 1, state: "complete", desired: "complete" });
  const gstep = reconcileUpdate(g, [gr], { lastBatchAt: 0 }, now, { eligible });
  assert.deepEqual(gstep.actions.create, [{ serviceId: "svc", nodeId: "n1", specVersion: 2 }]);
  assert.deepEqual(reconcileGlobal(g, [gr], eligible, now).create, []);
});

Deno.test("update: a fresh service is not an update", () => {
  const r = reconcileUpdate(svc({ replicas: 2 }), [task("a", { slot: 1, state: "pending" })], {
    lastBatchAt: 0,
  }, now);
  assert.equal(r.status, undefined);
});

Deno.test("reaper: keeps the newest finished tasks per slot", () => {
  const done = (id: string, at: number) =>
    task(id, { slot: 1, state: "failed", desired: "shutdown", at });
  const r = tasksToReap(
    [done("a", 1), done("b", 2), done("c", 3), task("live", { slot: 1 })],
    2,
    () => true,
  );
  assert.deepEqual(r, ["a"]);
  assert.deepEqual(tasksToReap([done("x", 1)], 5, () => false), ["x"]);
  // A task that failed and waited to restart when its service was deleted: reaped too.
  const waiting = task("w", { slot: 1, state: "failed", desired: "running", at: 1 });
  assert.deepEqual(tasksToReap([waiting], 5, () => true), []);
  assert.deepEqual(tasksToReap([waiting], 5, () => false), ["w"]);
});

Deno.test("reaper: the tasks of a deleted service go, whatever their last reported state", () => {
  // The dispatcher stops sending a deleted service's tasks (nodeView skips them), so workers
  // remove them without a last report: one left "running" in the store stayed there forever.
  const running = task("r", { slot: 1, desired: "shutdown" });
  assert.deepEqual(tasksToReap([running], 5, () => false), ["r"]);
  assert.deepEqual(
    tasksToReap([running], 5, () => true),
    [],
    "a live service's waits for its worker",
  );
});

Deno.test("reaper: a task told to stop on a removed node goes, whatever its last state", () => {
  // Seen on a real cluster: a worker stopped, marked down, its tasks replaced, then `node rm`:
  // its two tasks stayed "shutdown / running" in `service ps` for good, as nothing reports them.
  const stale = task("r", { slot: 1, nodeId: "gone", desired: "shutdown" });
  const all = () => 0;
  assert.deepEqual(tasksToReap([stale], 5, () => true, all, (id) => id !== "gone"), ["r"]);
  assert.deepEqual(tasksToReap([stale], 5, () => true, all, () => true), [], "its node may report");
  // One still meant to run is the orchestrator's to replace first (it is then told to stop).
  const meant = task("m", { slot: 2, nodeId: "gone" });
  assert.deepEqual(tasksToReap([meant], 5, () => true, all, (id) => id !== "gone"), []);
});

Deno.test("reaper: a task told to stop before it was placed goes", () => {
  // Scaled down, or its global node gone, while still pending: the scheduler places only tasks
  // meant to run and workers see only assigned ones, so it stayed pending forever.
  const p = task("p", { slot: 3, state: "pending", desired: "shutdown" });
  assert.deepEqual(tasksToReap([p], 5, () => true), ["p"]);
  assert.deepEqual(tasksToReap([task("q", { slot: 3, state: "pending" })], 5, () => true), []);
  const assigned = task("a", { slot: 3, state: "assigned", desired: "shutdown" });
  assert.deepEqual(tasksToReap([assigned], 5, () => true), [], "its worker reports the stop");
});

Deno.test("reaper: keeps the ended tasks the restart policy still counts", () => {
  // --restart-max-attempts 8 with the default history of 5: reaping down to 5 left at most
  // 6 attempts to count, so the slot was restarted forever.
  const p = { condition: "any" as const, delayMs: 0, maxAttempts: 8, windowMs: 0 };
  const ended = Array.from(
    { length: 8 },
    (_, i) => task(`f${i}`, { slot: 1, state: "failed", desired: "shutdown", at: i, ts: i }),
  );
  const dead = task("d", { slot: 1, state: "failed", at: 100, ts: 100 });
  const reaped = new Set(tasksToReap([...ended, dead], 5, () => true, () => p.maxAttempts));
  assert.deepEqual([...reaped], []);
  const history = ended.filter((t) => !reaped.has(t.id));
  assert.equal(restartDecision(dead, p, history, now).kind, "retire");
  // What the policy does not count (tasks an update stopped) is still trimmed to `keep`.
  const stopped = Array.from(
    { length: 3 },
    (_, i) => task(`s${i}`, { slot: 1, state: "shutdown", desired: "shutdown", at: i - 10 }),
  );
  assert.deepEqual(
    tasksToReap([...ended, ...stopped], 5, () => true, () => p.maxAttempts).sort(),
    ["s0", "s1", "s2"],
  );
});

Deno.test("node health: silent nodes go down, unless every worker went silent at once", () => {
  const nodes = [mkNode("n1", 0), mkNode("n2", 0), mkNode("n3", 0)];
  const seen: Record<string, number> = { n1: now - 20_000, n2: now - 1000, n3: now - 1000 };
  const r = nodesToMarkDown({
    nodes,
    lastSeen: (id) => seen[id],
    now,
    leaderSince: 0,
    downAfterMs: 10_000,
  });
  assert.deepEqual(r.down.map((n) => n.id), ["n1"]);
  const all = nodesToMarkDown({
    nodes,
    lastSeen: () => now - 20_000,
    now,
    leaderSince: 0,
    downAfterMs: 10_000,
  });
  assert.deepEqual(all.down, []);
  assert.equal(all.massSilence?.length, 3);
  const fresh = nodesToMarkDown({
    nodes,
    lastSeen: () => undefined,
    now,
    leaderSince: now - 1000,
    downAfterMs: 10_000,
  });
  assert.deepEqual(fresh.down, [], "a new leader waits a TTL for sessions");
});

Deno.test("node health: a ready manager that never opened a session with this leader goes down", () => {
  // The old leader crashed: its worker's session died with it, and the new leader never saw one.
  const managers = ["m1", "m2", "m3"].map((id) => ({ ...mkNode(id, 0), role: "manager" as const }));
  const seen: Record<string, number> = { m2: now - 1000, m3: now - 1000 };
  const r = nodesToMarkDown({
    nodes: managers,
    lastSeen: (id) => seen[id],
    now,
    leaderSince: now - 15_000,
    downAfterMs: 10_000,
  });
  assert.deepEqual(r.down.map((n) => n.id), ["m1"]);
  // A --manager-only manager never becomes ready, so it is not watched.
  const managerOnly = {
    ...managers[0],
    status: { ...managers[0].status, state: "unknown" as const },
  };
  assert.deepEqual(
    nodesToMarkDown({
      nodes: [managerOnly, ...managers.slice(1)],
      lastSeen: (id) => seen[id],
      now,
      leaderSince: now - 15_000,
      downAfterMs: 10_000,
    }).down,
    [],
  );
});

Deno.test("update: a rollback that changed no task's definition completes with every task kept", () => {
  // The rollback of a replicas-only update keeps the spec version (fsm.ts nextVersions).
  const s: Service = {
    ...svc({ replicas: 2, rollbackConfig: { parallelism: 1, monitorMs: 1000 } }, 1),
    updateStatus: { state: "rollback_started", message: "", startedAt: now },
  };
  const tasks = [task("a", { slot: 1 }), task("b", { slot: 2 })];
  const step = reconcileUpdate(s, tasks, { lastBatchAt: 0 }, now + 1);
  assert.deepEqual(step.actions.desired, []);
  assert.deepEqual(step.actions.create, []);
  assert.equal(step.status?.state, "rolled_back");
});

Deno.test("update: the delay runs from when a batch settled, even when it took longer", () => {
  const cfg = { parallelism: 1, delayMs: 10_000, monitorMs: 1_000, order: "start-first" as const };
  const s: Service = {
    ...svc({ replicas: 2, updateConfig: cfg }, 2),
    updateStatus: { state: "updating", message: "", startedAt: now },
  };
  const pacing: UpdatePacing = { lastBatchAt: now };
  // Slot 1's new task took 20 s to start (a slow pull), longer than the delay; it settles
  // once running past its monitor period.
  const started = now + 20_000;
  const tasks = [
    task("n1", { slot: 1, version: 2, at: now, ts: started }),
    task("o2", { slot: 2, version: 1 }),
  ];
  const settled = started + 1_000;
  const first = reconcileUpdate(s, tasks, pacing, settled);
  assert.deepEqual(first.actions.create, [], "the delay starts now, not at the batch's start");
  assert.equal(first.actions.wakeAt, settled + 10_000);
  assert.deepEqual(reconcileUpdate(s, tasks, pacing, settled + 9_999).actions.create, []);
  const next = reconcileUpdate(s, tasks, pacing, settled + 10_000);
  assert.deepEqual(next.actions.create.map((c) => c.slot), [2]);
});

Deno.test("update: a new task that fails after its monitor period is not the update's failure", () => {
  const cfg = { parallelism: 1, monitorMs: 1_000, failureAction: "pause" as const };
  const s: Service = {
    ...svc({ replicas: 2, updateConfig: cfg }, 2),
    updateStatus: { state: "updating", message: "", startedAt: now },
  };
  const pacing: UpdatePacing = { lastBatchAt: now };
  const running = task("n1", { slot: 1, version: 2, at: now, ts: now + 100 });
  const old = task("o2", { slot: 2, version: 1 });
  // Seen past its monitor period: settled, the next batch goes.
  const next = reconcileUpdate(s, [running, old], pacing, now + 1_200);
  assert.deepEqual(next.actions.desired.map((d) => d.taskId), ["o2"]);
  // An hour later it crashes (the update is slow, or waits on slot 2): not a failed update.
  const crashed = { ...running, status: { ...running.status, state: "failed" as const } };
  const later = reconcileUpdate(s, [crashed, old], pacing, now + 3_600_000);
  assert.notEqual(later.status?.state, "paused");
  // One that fails within its monitor period still pauses the update.
  const quick = task("n2", { slot: 1, version: 2, at: now, state: "failed" });
  assert.equal(
    reconcileUpdate(s, [quick, old], { lastBatchAt: now }, now + 500).status?.state,
    "paused",
  );
});

Deno.test("update: the next update's first batch goes at once; the delay is only between batches", () => {
  const cfg = { parallelism: 1, delayMs: 10_000, monitorMs: 0 };
  const pacing: UpdatePacing = { lastBatchAt: 0 };
  // An update to v2 ran to its end: one batch.
  const v2 = svc({ replicas: 1, updateConfig: cfg }, 2);
  const start = reconcileUpdate(v2, [task("o", { slot: 1, version: 1 })], pacing, now);
  assert.deepEqual(start.actions.desired.map((d) => d.taskId), ["o"]);
  const running = { ...v2, updateStatus: start.status! };
  const done = reconcileUpdate(
    running,
    [task("a", { slot: 1, version: 2, at: now })],
    pacing,
    now + 1,
  );
  assert.equal(done.status?.state, "completed");
  // Soon after, v3: its first batch does not wait out a delay.
  const v3 = { ...svc({ replicas: 1, updateConfig: cfg }, 3), updateStatus: done.status! };
  const later = now + 2_000;
  const first = reconcileUpdate(v3, [task("a", { slot: 1, version: 2, at: now })], pacing, later);
  assert.equal(first.status?.state, "updating");
  assert.deepEqual(first.actions.desired.map((d) => d.taskId), ["a"]);
});

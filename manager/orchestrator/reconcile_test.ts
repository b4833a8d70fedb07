import assert from "node:assert/strict";
import type { Service, Task, TaskState } from "../../proto/schema/mod.ts";
import { node as mkNode, service as mkService } from "../state/_fixtures_test_util.ts";
import { type NodeFacts, reconcileReplicated } from "./replicated.ts";
import { reconcileGlobal } from "./global.ts";
import { restartDecision } from "./restart.ts";
import { reconcileUpdate } from "./update.ts";
import { tasksToReap } from "./reaper.ts";
import { nodesToMarkDown } from "./node_health.ts";

const now = 100_000;
const noEvac: NodeFacts = { evacuate: () => undefined };

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
  const facts: NodeFacts = { evacuate: (n) => n === "n2" ? "node host-n2 is drained" : undefined };
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

Deno.test("update: stop-first in batches of parallelism, then completes", () => {
  const s = svc({ replicas: 3, updateConfig: { parallelism: 2, monitorMs: 1000 } }, 2);
  const old = [1, 2, 3].map((i) => task(`o${i}`, { slot: i, version: 1 }));
  const pacing = { lastBatchAt: 0 };
  const first = reconcileUpdate(s, old, pacing, now);
  assert.equal(first.status?.state, "updating");
  assert.deepEqual(first.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 2], [2, 2]]);
  assert.deepEqual(first.actions.desired.map((d) => d.taskId), ["o1", "o2"]);
  // Batch 1 running but still monitored: nothing more yet.
  const st = { state: "updating" as const, message: "", startedAt: now };
  const mid = [
    task("n1", { slot: 1, version: 2, at: now, ts: now + 100 }),
    task("n2", { slot: 2, version: 2, at: now, ts: now + 100 }),
    task("o1", { slot: 1, desired: "shutdown", state: "shutdown" }),
    task("o2", { slot: 2, desired: "shutdown", state: "shutdown" }),
    task("o3", { slot: 3 }),
  ];
  const waiting = reconcileUpdate({ ...s, updateStatus: st }, mid, pacing, now + 500);
  assert.equal(waiting.actions.create.length, 0);
  assert.equal(waiting.actions.wakeAt, now + 1100, "a pass is due when the monitor period ends");
  const next = reconcileUpdate({ ...s, updateStatus: st }, mid, pacing, now + 2000);
  assert.deepEqual(next.actions.create.map((c) => c.slot), [3]);
  const done = reconcileUpdate(
    { ...s, updateStatus: st },
    [...mid.slice(0, 4), task("n3", { slot: 3, version: 2, at: now, ts: now + 100 })],
    pacing,
    now + 5000,
  );
  assert.equal(done.status?.state, "completed");
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
  assert.match(paused.status!.message, /1 of 2 updated task\(s\) failed/);
  const rb = svc({ ...base, updateConfig: { ...base.updateConfig, failureAction: "rollback" } }, 2);
  const rolled = reconcileUpdate({ ...rb, previousSpec: rb.spec, updateStatus: st }, tasks, {
    lastBatchAt: 0,
  }, now + 10);
  assert.equal(rolled.rollback, true);
  assert.equal(rolled.status?.state, "rollback_started");
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
  const step = reconcileUpdate(s, tasks, { lastBatchAt: 0 }, now);
  assert.deepEqual(step.actions.create.map((c) => [c.slot, c.specVersion]), [[1, 3]]);
  assert.deepEqual(step.actions.desired.map((d) => d.taskId), ["n1"]);
  // Once slot 1 runs v3, the rollback is complete with the v1 tasks untouched.
  const after = [task("r1", { slot: 1, version: 3, at: now, ts: now }), tasks[1]!, tasks[2]!];
  assert.equal(
    reconcileUpdate(s, after, { lastBatchAt: 0 }, now + 2000).status?.state,
    "rolled_back",
  );
  // Without the marker (a plain update to v3) every older task would be replaced.
  const { sameSpecVersion: _, ...plain } = s;
  assert.equal(reconcileUpdate(plain, tasks, { lastBatchAt: 0 }, now).actions.create.length, 3);
});

Deno.test("update: a global service rolls node by node; start-first keeps the old task", () => {
  const g = svc({ mode: "global", replicas: undefined, updateConfig: { parallelism: 1 } }, 2);
  const eligible = new Set(["n1", "n2", "n3"]);
  const old = ["n1", "n2", "n3"].map((n) => task(`o-${n}`, { nodeId: n, version: 1 }));
  const step = reconcileUpdate(g, old, { lastBatchAt: 0 }, now, eligible);
  assert.equal(step.status?.state, "updating");
  assert.deepEqual(step.actions.create, [{ serviceId: "svc", nodeId: "n1", specVersion: 2 }]);
  assert.deepEqual(step.actions.desired.map((d) => d.taskId), ["o-n1"]);
  // Tasks on a node that no longer runs the service are not the updater's.
  const away = reconcileUpdate(g, old, { lastBatchAt: 0 }, now, new Set(["n2"]));
  assert.deepEqual(away.actions.create.map((c) => c.nodeId), ["n2"]);

  // start-first: the new task starts beside the old one, which reconcileGlobal leaves alone
  // until the updater retires it once the new one runs.
  const sf = {
    ...g,
    spec: { ...g.spec, updateConfig: { ...g.spec.updateConfig, order: "start-first" as const } },
  };
  const first = reconcileUpdate(sf, old, { lastBatchAt: 0 }, now, eligible);
  assert.deepEqual(first.actions.desired, []);
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
    eligible,
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
    new Set(["n1"]),
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
  assert.deepEqual(tasksToReap([waiting, task("live", { slot: 1 })], 5, () => false), ["w"]);
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

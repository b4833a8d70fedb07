/**
 * Rolling updates, end to end, with a broken release (its container exits 1 right after it
 * starts): failureAction pause stops the rollout after the first failed batch; failureAction
 * rollback restores the previous spec and rolls back the tasks the release reached (the others
 * keep running). Both show in service inspect and in the event stream. A global service rolls
 * node by node. stop-first starts a slot's new task only after its old one has stopped (here
 * one that ignores SIGTERM and is killed after its grace period); start-first overlaps them.
 */
import assert from "node:assert/strict";
import {
  type Event,
  isTerminal,
  runsCurrentSpec,
  type Task,
  type UpdateState,
} from "../../proto/schema/mod.ts";
import type { WarrenClient } from "../../net/client/client.ts";
import { startSimCluster } from "../sim/workers/cluster.ts";
import { until } from "../sim/workers/managers.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";

/** Collects the update states of one service from the event stream until aborted. */
function watchUpdateStates(
  client: WarrenClient,
  serviceId: string,
  fromIndex: number,
  signal: AbortSignal,
): { states: UpdateState[]; done: Promise<void> } {
  const states: UpdateState[] = [];
  const done = (async () => {
    for await (const e of client.events.watch({ fromIndex, kinds: ["service"], signal })) {
      const ev = e as Extract<Event, { kind: "service" }>;
      const st = ev.service.updateStatus?.state;
      if (ev.service.id === serviceId && st && states.at(-1) !== st) states.push(st);
    }
  })();
  return { states, done };
}

Deno.test("orchestrator: a failing release pauses the rolling update (failureAction pause)", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const client = c.m.client;
  const created = await client.services.create({
    name: "web",
    image: SIM_IMAGES.web,
    replicas: 3,
    updateConfig: { parallelism: 1, monitorMs: 1_000, failureAction: "pause" },
  });
  const svc = created.id;
  await until(() => c.running(svc).length === 3, "3 tasks running");
  const v1 = c.running(svc).map((t) => t.id).sort();
  const ac = new AbortController();
  const events = watchUpdateStates(
    client,
    svc,
    (await client.services.list()).index + 1,
    ac.signal,
  );
  try {
    await client.services.update(svc, { ...created.spec, image: SIM_IMAGES.webBroken });
    await until(
      async () => (await client.services.inspect(svc)).updateStatus?.state === "paused",
      "update paused",
    );
    const s = await client.services.inspect(svc);
    assert.match(s.updateStatus!.message, /1 new task\(s\) failed, of 3 to update.*update paused/);
    assert.equal(s.spec.image, SIM_IMAGES.webBroken, "pause keeps the new spec");
    // One batch went out (slot 1); the other two slots still run the old release.
    const failed = c.tasks(svc).filter((t) => t.specVersion === 2 && t.status.state === "failed");
    assert.ok(failed.length >= 1);
    assert.ok(failed.every((t) => t.slot === 1), "only the first batch was updated");
    const old = c.running(svc).filter((t) => t.specVersion === 1).map((t) => t.id);
    assert.equal(old.length, 2);
    assert.ok(old.every((id) => v1.includes(id)));
    // It stays paused: no further batch.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await client.services.inspect(svc)).updateStatus?.state, "paused");
    assert.equal(c.running(svc).filter((t) => t.specVersion === 1).length, 2);
    await until(() => events.states.includes("paused"), "paused event");
    assert.deepEqual(events.states.slice(0, 2), ["updating", "paused"]);
  } finally {
    ac.abort();
    await events.done.catch(() => {});
  }
});

Deno.test("orchestrator: a failing release is rolled back (failureAction rollback)", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const client = c.m.client;
  const created = await client.services.create({
    name: "web",
    image: SIM_IMAGES.web,
    replicas: 3,
    updateConfig: { parallelism: 1, monitorMs: 1_000, failureAction: "rollback" },
    rollbackConfig: { parallelism: 0, monitorMs: 300 },
  });
  const svc = created.id;
  await until(() => c.running(svc).length === 3, "3 tasks running");
  const v1 = c.running(svc).map((t) => t.id);
  const ac = new AbortController();
  const events = watchUpdateStates(
    client,
    svc,
    (await client.services.list()).index + 1,
    ac.signal,
  );
  try {
    await client.services.update(svc, { ...created.spec, image: SIM_IMAGES.webBroken });
    await until(
      async () => (await client.services.inspect(svc)).updateStatus?.state === "rolled_back",
      "rolled back",
      20_000,
    );
    const s = await client.services.inspect(svc);
    assert.equal(s.spec.image, SIM_IMAGES.web, "the previous spec is back");
    assert.equal(s.previousSpec?.image, SIM_IMAGES.webBroken);
    assert.ok(s.updateStatus!.completedAt! >= s.updateStatus!.startedAt);
    assert.equal(s.sameSpecVersion, 1, "version 1 runs the restored spec");
    await until(
      () =>
        c.running(svc).length === 3 &&
        c.running(svc).every((t) => runsCurrentSpec(s, t.specVersion)),
      "3 tasks of the rolled-back spec running",
    );
    // Only the slot the broken release reached was replaced: the other two v1 tasks never
    // stopped (a rollback is not a restart of everything).
    const kept = c.running(svc).filter((t) => v1.includes(t.id));
    assert.equal(
      kept.length,
      2,
      JSON.stringify(c.running(svc).map((t) => [t.slot, t.specVersion])),
    );
    assert.ok(kept.every((t) => t.specVersion === 1));
    // No task of the broken release is meant to run any more.
    const broken = c.tasks(svc).filter((t) => t.specVersion === 2);
    assert.ok(broken.length >= 1);
    assert.ok(broken.every((t) => t.desiredState !== "running"), "broken tasks retired");
    await until(() => events.states.includes("rolled_back"), "rolled_back event");
    assert.deepEqual(events.states, ["updating", "rollback_started", "rolled_back"]);
  } finally {
    ac.abort();
    await events.done.catch(() => {});
  }
});

Deno.test("orchestrator: a global service's update rolls node by node to the new spec", async () => {
  await using c = await startSimCluster({ workers: 3 });
  const client = c.m.client;
  const created = await client.services.create({
    name: "agent",
    image: SIM_IMAGES.web,
    mode: "global",
    updateConfig: { parallelism: 1, monitorMs: 200 },
  });
  const svc = created.id;
  await until(() => c.running(svc).length === 3, "3 global tasks running");
  await client.services.update(svc, { ...created.spec, image: SIM_IMAGES.webV2 });
  await until(
    async () => (await client.services.inspect(svc)).updateStatus?.state === "completed",
    "update completed",
    20_000,
  );
  await until(
    () => c.running(svc).length === 3 && c.running(svc).every((t) => t.specVersion === 2),
    "3 tasks of version 2 running",
  );
  const nodes = c.running(svc).map((t) => t.nodeId).sort();
  assert.deepEqual(nodes, [...c.w.nodeIds].sort(), "still one task per node");
  assert.ok(
    c.tasks(svc).filter((t) => t.specVersion === 1).every((t) => t.desiredState === "shutdown"),
    "every version 1 task retired",
  );
});

/** Collects the task events of one service from the event stream until aborted. */
function watchTasks(
  client: WarrenClient,
  serviceId: string,
  fromIndex: number,
  signal: AbortSignal,
): { events: { index: number; task: Task }[]; done: Promise<void> } {
  const events: { index: number; task: Task }[] = [];
  const done = (async () => {
    for await (const e of client.events.watch({ fromIndex, kinds: ["task"], signal })) {
      const ev = e as Extract<Event, { kind: "task" }>;
      if (ev.task.serviceId === serviceId) events.push({ index: ev.index, task: ev.task });
    }
  })();
  return { events, done };
}

Deno.test("orchestrator: stop-first starts a slot's new task after the old one stopped; start-first overlaps", async () => {
  await using c = await startSimCluster({ workers: 2 });
  const client = c.m.client;
  const base = {
    image: SIM_IMAGES.webStubborn,
    replicas: 1,
    // The old task ignores SIGTERM: it stops only when killed, 1 s after being told to.
    stopGracePeriodMs: 1_000,
  };
  const stopFirst = await client.services.create({
    ...base,
    name: "stop",
    updateConfig: { monitorMs: 100 },
  });
  const startFirst = await client.services.create({
    ...base,
    name: "start",
    updateConfig: { monitorMs: 100, order: "start-first" },
  });
  const ids = [stopFirst.id, startFirst.id];
  await until(() => ids.every((id) => c.running(id).length === 1), "both v1 tasks running");
  const ac = new AbortController();
  const from = (await client.services.list()).index + 1;
  const watches = ids.map((id) => watchTasks(client, id, from, ac.signal));
  try {
    for (const s of [stopFirst, startFirst]) {
      await client.services.update(s.id, { ...s.spec, image: SIM_IMAGES.webV2 });
    }
    for (const id of ids) {
      await until(
        async () => (await client.services.inspect(id)).updateStatus?.state === "completed",
        "update completed",
        20_000,
      );
    }
    /** Raft indexes of: the old task's terminal state, the new task's creation and first start. */
    const timeline = async (i: number) => {
      const { events } = watches[i]!;
      const oldEnd = () =>
        events.find((e) => e.task.specVersion === 1 && isTerminal(e.task.status.state));
      const newStart = () =>
        events.find((e) =>
          e.task.specVersion === 2 &&
          (e.task.status.state === "starting" || e.task.status.state === "running")
        );
      await until(() => !!oldEnd() && !!newStart(), "old task stopped and new task started");
      const created = events.find((e) => e.task.specVersion === 2)!;
      assert.equal(oldEnd()!.task.slot, newStart()!.task.slot);
      return { oldEnd: oldEnd()!.index, newCreated: created.index, newStart: newStart()!.index };
    };
    const stop = await timeline(0);
    assert.ok(
      stop.oldEnd < stop.newCreated && stop.oldEnd < stop.newStart,
      `stop-first: the new task was created (index ${stop.newCreated}) and started (${stop.newStart}) before the old one stopped (${stop.oldEnd})`,
    );
    const start = await timeline(1);
    assert.ok(
      start.newStart < start.oldEnd,
      `start-first: the new task started (index ${start.newStart}) after the old one stopped (${start.oldEnd})`,
    );
  } finally {
    ac.abort();
    await Promise.all(watches.map((w) => w.done.catch(() => {})));
  }
});

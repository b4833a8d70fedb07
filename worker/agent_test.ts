import assert from "node:assert/strict";
import { FakeRuntime } from "../runtime/fake.ts";
import { write } from "../manager/api/context.ts";
import { fakeImages, IMAGES } from "./_test_util.ts";
import { eventually, freePort, startTestManager, startTestWorkerNode } from "./_test_manager.ts";
import { cutProxy } from "../manager/_cut_proxy_test_util.ts";

Deno.test("agent: registers (failing over past a dead manager), runs assigned tasks, reports batched", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  const dead = `127.0.0.1:${freePort()}`;
  await using n = await startTestWorkerNode(dir, runtime, [dead, m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    assert.equal((await m.client.nodes.inspect("w1")).status.state, "ready");
    // The orchestrator places both tasks on w1; they arrive through the stream (no polling).
    const svc = await m.createService({ name: "web", image: IMAGES.web, replicas: 2 });
    await eventually(
      () => m.tasksOf(svc).filter((t) => t.status.state === "running").length === 2,
      "both tasks running on the manager",
    );
    const [t1] = m.tasksOf(svc);
    assert.equal(t1.nodeId, "w1");
    assert.equal(t1.status.containerId, t1.id);
    assert.equal((await runtime.inspect(t1.id)).state, "running");
    // Scaled to zero: the manager wants the tasks shut down; the worker stops them, reports, and
    // removes the containers once the tasks leave its assignments.
    await m.scale(svc, 0);
    await eventually(
      () => m.tasksOf(svc).every((t) => t.status.state === "shutdown"),
      "tasks shut down",
    );
    await eventually(async () => (await runtime.list()).length === 0, "containers removed");
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: manager gone → autonomy; back → reconnect, statuses reported, nothing restarted", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  await using n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    const web = await m.createService({ name: "web", image: IMAGES.web });
    const job = await m.createService({
      name: "job",
      image: IMAGES.exit,
      env: ["WARREN_SLEEP_MS=1500", "WARREN_EXIT_CODE=0"],
      restartPolicy: { condition: "on-failure" },
    });
    const running = (svc: string) => m.tasksOf(svc).find((t) => t.status.state === "running");
    await eventually(() => !!running(web) && !!running(job), "both running");
    const webTask = running(web)!.id;
    const jobTask = running(job)!.id;
    const starts = runtime.calls.get("start");

    await m.stop();
    await eventually(() => !n.agent.connected, "agent notices the manager is gone");
    // The job completes while no manager is reachable: kept, reported later.
    await eventually(() => n.worker.runner(jobTask)?.status.state === "complete", "job done");
    assert.equal((await runtime.inspect(webTask)).state, "running", "tasks keep running");

    await m.restart();
    await n.agent.waitConnected(10_000);
    await eventually(() => m.task(jobTask)?.status.state === "complete", "completion reported");
    assert.equal(m.task(webTask)?.status.state, "running");
    assert.equal(runtime.calls.get("start"), starts, "reconnect restarted nothing");
    assert.ok(n.agent.sessions >= 2);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a report after a quiet spell is committed without waiting for the batch window", async () => {
  const windowMs = 1_000;
  await using m = await startTestManager({ dispatcherBatchMs: windowMs });
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  await using n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    let reportedAt = 0;
    let committedAt = 0;
    n.worker.onStatus((u) => {
      if (u.status.state === "running") reportedAt = performance.now();
    });
    const unsubscribe = m.mgr.store.onApplied((_i, changes) => {
      for (const c of changes) {
        if (c.kind === "task" && c.task.status.state === "running") committedAt = performance.now();
      }
    });
    const svc = await m.createService({ name: "web", image: IMAGES.web, replicas: 1 });
    await eventually(
      () => m.tasksOf(svc).some((t) => t.status.state === "running"),
      "the task running on the manager",
    );
    unsubscribe();
    const tookMs = committedAt - reportedAt;
    assert.ok(tookMs < windowMs / 2, `worker running → committed took ${tookMs} ms`);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a stop while Register is in flight ends the agent (no session opened after)", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dispatcher = m.mgr.dispatcher;
  const register = dispatcher.register.bind(dispatcher);
  const { promise: registering, resolve: registered } = Promise.withResolvers<void>();
  const { promise: gate, resolve: release } = Promise.withResolvers<void>();
  dispatcher.register = async (req) => {
    registered();
    await gate;
    return await register(req);
  };
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const n = await startTestWorkerNode(dir, new FakeRuntime({ images: fakeImages() }), [
    m.apiAddress,
  ]);
  try {
    await registering;
    const stopped = n.stop();
    release();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      stopped.then(() => "stopped"),
      new Promise((r) => (timer = setTimeout(() => r("still running after 10 s"), 10_000))),
    ]);
    clearTimeout(timer);
    if (outcome !== "stopped") await m.stop(); // ends the stuck session, so the test can end
    assert.equal(outcome, "stopped");
    assert.equal(n.agent.connected, false);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a secret's new version reaches the tasks its rolling update starts", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  await using n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    await m.client.secrets.create({ name: "db-pass", data: new TextEncoder().encode("s3cret") });
    const svc = await m.createService({
      name: "db",
      image: IMAGES.web,
      secrets: [{ secret: "db-pass" }],
    });
    const running = () => m.tasksOf(svc).filter((t) => t.status.state === "running");
    await eventually(() => running().length === 1, "the task running");
    const cat = async (id: string) =>
      (await runtime.exec(id, { cmd: ["cat", "/run/secrets/db-pass"] })).stdout;
    assert.equal(await cat(running()[0].id), "s3cret");
    // Rotation: the service rolls to a new spec version; its new task must see the new data.
    await m.client.secrets.update("db-pass", { data: new TextEncoder().encode("newpass") });
    await eventually(
      () => running().some((t) => t.specVersion === 2),
      "the rolled task running",
    );
    assert.equal(await cat(running().find((t) => t.specVersion === 2)!.id), "newpass");
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a node removed while it was down stops its re-adopted tasks and stops registering", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  try {
    const first = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
    await first.agent.waitConnected(10_000);
    const svc = await m.createService({ name: "web", image: IMAGES.web, replicas: 2 });
    await eventually(
      () => m.tasksOf(svc).filter((t) => t.status.state === "running").length === 2,
      "both tasks running",
    );
    await first.stop(); // killed: its containers keep running
    // `node rm w1` while it is down.
    await write(m.mgr.ctx, { kind: "node.remove", at: Date.now(), id: "w1", force: true });
    const running = async () => (await runtime.list()).filter((c) => c.state === "running").length;
    assert.equal(await running(), 2);
    const n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
    try {
      const err = await n.notMember;
      assert.equal(err.code, "not_found");
      assert.match(err.message, /node w1 is not a member of this cluster/);
      assert.equal(n.agent.notMember, err);
      assert.equal(await running(), 0, "the removed node keeps running rescheduled tasks");
      assert.equal(n.agent.sessions, 0);
    } finally {
      await n.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a node removed while connected (node rm --force) stops its tasks", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  const n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    const svc = await m.createService({ name: "web", image: IMAGES.web });
    await eventually(
      () => m.tasksOf(svc).some((t) => t.status.state === "running"),
      "the task running",
    );
    await write(m.mgr.ctx, { kind: "node.remove", at: Date.now(), id: "w1", force: true });
    const err = await n.notMember;
    assert.equal(err.code, "not_found");
    assert.equal((await runtime.list()).filter((c) => c.state === "running").length, 0);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: tells the daemon every manager address it learns, for its next start", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  const learned: (readonly string[])[] = [];
  // Configured under another name than the one the manager announces (its API address).
  const configured = m.apiAddress.replace("127.0.0.1", "localhost");
  await using n = await startTestWorkerNode(dir, runtime, [configured], {
    onManagers: (list) => learned.push(list),
  });
  try {
    await n.agent.waitConnected(10_000);
    assert.deepEqual(learned.at(-1), [configured, m.apiAddress]);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent: a manager that went silent (no refusal) is left for the next one", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  await using proxy = cutProxy(m.apiAddress);
  const dir = await Deno.makeTempDir({ prefix: "warren-agent-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  // The same manager twice: through the proxy first (where the session starts), then directly.
  await using n = await startTestWorkerNode(dir, runtime, [proxy.address, m.apiAddress], {
    // Long enough that the first session surely goes through the proxy on a loaded machine.
    callTimeoutMs: 1_500,
  });
  try {
    await n.agent.waitConnected(10_000);
    const before = n.agent.sessions;
    // The first address stops answering for good, as a powered-off or partitioned host does.
    proxy.silence({ andNew: true });
    await eventually(
      () => n.agent.sessions > before && n.agent.connected,
      "a new session, on the other address",
      15_000,
    );
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

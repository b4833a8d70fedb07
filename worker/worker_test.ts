import assert from "node:assert/strict";
import { join } from "node:path";
import type { TaskStatusUpdate } from "../proto/schema/mod.ts";
import type { FakeRuntime, ManualClock } from "../runtime/fake.ts";
import { Labels } from "../runtime/runtime.ts";
import { UnavailableError } from "../proto/errors.ts";
import { hostNetwork, Worker } from "./worker.ts";
import { ENDED_KEPT } from "./task_logs.ts";
import { LocalState } from "./local_state.ts";
import {
  assignment,
  failCalls,
  fakeRuntime,
  IMAGES,
  message,
  until,
  withDesired,
} from "./_test_util.ts";

interface Env extends AsyncDisposable {
  dir: string;
  runtime: FakeRuntime;
  clock: ManualClock;
  open(): Promise<Worker>;
  updates: TaskStatusUpdate[];
}

async function env(): Promise<Env> {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-" });
  const { runtime, clock } = fakeRuntime();
  const updates: TaskStatusUpdate[] = [];
  const workers: Worker[] = [];
  return {
    dir,
    runtime,
    clock,
    updates,
    async open() {
      const w = await Worker.open({ nodeId: "node1", dataDir: dir, runtime, clock });
      w.onStatus((u) => updates.push(u));
      workers.push(w);
      return w;
    },
    async [Symbol.asyncDispose]() {
      for (const w of workers) await w.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const stateOf = (w: Worker, id: string) => w.runner(id)?.status.state;

Deno.test("worker: runs assigned tasks and removes them when a complete message omits them", async () => {
  await using e = await env();
  const w = await e.open();
  const seen: number[] = [];
  w.onAssignments((m) => seen.push(m.assignments.length));
  const a = assignment({}, { id: "web1" });
  const b = assignment({}, { id: "web2", slot: 2 });
  w.applyAssignments(message([a, b]));
  await until(
    () => stateOf(w, "web1") === "running" && stateOf(w, "web2") === "running",
    "running",
    e.clock,
  );
  assert.deepEqual(
    e.updates.filter((u) => u.taskId === "web1").map((u) => u.status.state),
    ["accepted", "preparing", "starting", "running"],
  );
  w.applyAssignments(message([a])); // authoritative: web2 is no longer ours
  await w.settled();
  assert.deepEqual(w.tasks().map((t) => t.taskId), ["web1"]);
  assert.deepEqual((await e.runtime.list()).map((c) => c.id), ["web1"]);
  // A delta removes by ID.
  w.applyAssignments(message([], { complete: false, removedTaskIds: ["web1"] }));
  await w.settled();
  assert.deepEqual(await e.runtime.list(), []);
  assert.deepEqual(seen, [2, 1, 0], "the network layer sees every message");
  // The manager learns that both are down (a deleted service's tasks would stay "running").
  for (const id of ["web1", "web2"]) {
    assert.equal(e.updates.findLast((u) => u.taskId === id)?.status.state, "shutdown", id);
  }
});

Deno.test("worker: volumes live under the data dir and outlive a replaced task", async () => {
  await using e = await env();
  const w = await e.open();
  const mounts = [{ type: "volume" as const, source: "data", target: "/data" }];
  const t1 = assignment({ mounts }, { id: "db1" });
  w.applyAssignments(message([t1]));
  await until(() => stateOf(w, "db1") === "running", "running", e.clock);
  assert.ok((await Deno.stat(join(e.dir, "volumes", "data"))).isDirectory);
  await e.runtime.exec("db1", { cmd: ["tee", "/data/row"], stdin: "42" });
  const t2 = assignment({ mounts }, { id: "db2" });
  w.applyAssignments(message([t2])); // db1 replaced by db2 on the same node
  await until(() => stateOf(w, "db2") === "running", "running", e.clock);
  await w.settled();
  assert.equal((await e.runtime.exec("db2", { cmd: ["cat", "/data/row"] })).stdout, "42");
  assert.deepEqual(await w.volumes.list(), ["data"]);
});

Deno.test("worker: a restarted worker re-adopts running containers and removes unowned ones", async () => {
  await using e = await env();
  const w1 = await e.open();
  w1.applyAssignments(message([assignment({}, { id: "keep" })]));
  await until(() => stateOf(w1, "keep") === "running", "running", e.clock);
  await w1.stop(); // not drained: the container keeps running
  assert.equal((await e.runtime.inspect("keep")).state, "running");
  // A container of this node that the worker has no record of (e.g. a task removed while the
  // worker was down and its record deleted).
  await e.runtime.prepare({
    taskId: "orphan",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node1" },
  });
  await e.runtime.prepare({
    taskId: "other-node",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node2" },
  });
  const starts = e.runtime.calls.get("start");

  const w2 = await e.open();
  assert.deepEqual(w2.adopted, ["keep"]);
  await w2.settled();
  assert.equal(e.runtime.calls.get("start"), starts, "no restart");
  assert.equal(stateOf(w2, "keep"), "running");
  assert.deepEqual((await e.runtime.list()).map((c) => c.id), ["keep", "other-node"]);
});

Deno.test("worker: an ended task's log files are kept among the node's last few and still read; older ones go", async () => {
  await using e = await env();
  const w1 = await e.open();
  w1.applyAssignments(message([assignment({}, { id: "gone" }), assignment({}, { id: "keep" })]));
  await until(
    () => stateOf(w1, "gone") === "running" && stateOf(w1, "keep") === "running",
    "running",
    e.clock,
  );
  // The fake runtime writes no files: put them where the runtime's log config points, in the
  // log driver's format.
  const logs = join(e.dir, "logs");
  const files = () => [...Deno.readDirSync(logs)].map((f) => f.name).sort();
  const line = (text: string) => `2026-11-27T10:00:00.000000000Z stderr F ${text}\n`;
  await Deno.writeTextFile(join(logs, "gone.log.1"), line("starting"));
  await Deno.writeTextFile(join(logs, "gone.log"), line("panic: no config"));
  await Deno.writeTextFile(join(logs, "keep.log"), line("serving"));
  w1.applyAssignments(message([assignment({}, { id: "keep" })]));
  await w1.settled();
  assert.equal(w1.runner("gone"), undefined, "its container is gone");
  // `service logs` of the ended task still reads why it ended.
  const read = async (id: string) => {
    const out: string[] = [];
    for await (const e of (await w1.endedTaskLogs(id))!) out.push(`${e.stream} ${e.line}`);
    return out;
  };
  assert.deepEqual(await read("gone"), ["stderr starting", "stderr panic: no config"]);
  assert.equal(await w1.endedTaskLogs("never-ran"), undefined);
  await w1.stop();
  // Ended tasks beyond the bound (here older files of tasks removed while the worker was down)
  // are deleted at the next start, oldest first; the running task's are never touched.
  const old = new Date(Date.now() - 3_600_000);
  for (let i = 0; i < ENDED_KEPT; i++) {
    await Deno.writeTextFile(join(logs, `old${i}.log`), "x\n");
    await Deno.utime(join(logs, `old${i}.log`), old, new Date(old.getTime() + i));
  }
  await e.open();
  const kept = files();
  assert.ok(kept.includes("keep.log"));
  assert.ok(kept.includes("gone.log") && kept.includes("gone.log.1"), "the newest ended task's");
  assert.ok(!kept.includes("old0.log"), "the oldest ended task's files are gone");
  assert.equal(kept.filter((f) => !f.startsWith("keep")).length, ENDED_KEPT + 1, "5 ended tasks");
});

Deno.test("worker: an ended task's logs are not deleted while another task's container is still being removed", async () => {
  await using e = await env();
  const w = await e.open();
  // "slow" ignores SIGTERM: its removal takes the whole grace period.
  const slow = assignment({ image: IMAGES.stubborn, stopGracePeriodMs: 10_000 }, { id: "slow" });
  w.applyAssignments(message([slow, assignment({}, { id: "quick" })]));
  await until(
    () => stateOf(w, "slow") === "running" && stateOf(w, "quick") === "running",
    "running",
    e.clock,
  );
  const logs = join(e.dir, "logs");
  // The slow task last wrote long ago (a quiet server); other tasks ended since.
  const recent = new Date(Date.now() - 60_000);
  for (let i = 0; i < ENDED_KEPT; i++) {
    await Deno.writeTextFile(join(logs, `ended${i}.log`), "x\n");
    await Deno.utime(join(logs, `ended${i}.log`), recent, new Date(recent.getTime() + i));
  }
  await Deno.writeTextFile(join(logs, "slow.log"), "2026-11-27T10:00:00.000000000Z stdout F up\n");
  const long = new Date(Date.now() - 3_600_000);
  await Deno.utime(join(logs, "slow.log"), long, long);
  await Deno.writeTextFile(join(logs, "quick.log"), "");
  w.applyAssignments(message([])); // service rm: both go
  // Its container gone, its logs retired: reported down.
  const down = (id: string) =>
    e.updates.some((u) => u.taskId === id && u.status.state === "shutdown");
  await until(() => down("quick"), "quick removed", e.clock);
  await until(() => e.clock.pending > 0, "the slow task's grace period", e.clock);
  await e.clock.advance(10_000);
  await w.settled();
  assert.deepEqual(await e.runtime.list(), []);
  const kept = [...Deno.readDirSync(logs)].map((f) => f.name).sort();
  assert.ok(kept.includes("slow.log"), `the task that ended last keeps its logs (kept: ${kept})`);
  assert.ok(kept.includes("quick.log"));
  assert.equal(kept.length, ENDED_KEPT, `the oldest ended ones went instead (kept: ${kept})`);
});

Deno.test("worker: a failed container removal is retried; the network is released and the record kept meanwhile", async () => {
  await using e = await env();
  const detached: string[] = [];
  const w = await Worker.open({
    nodeId: "node1",
    dataDir: e.dir,
    runtime: e.runtime,
    clock: e.clock,
    network: { ...hostNetwork, detach: (id) => Promise.resolve(void detached.push(id)) },
  });
  w.onStatus((u) => e.updates.push(u));
  w.applyAssignments(message([assignment({}, { id: "web1" })]));
  await until(() => stateOf(w, "web1") === "running", "running", e.clock);
  const failed = failCalls(e.runtime, "remove", new UnavailableError("containerd: unavailable"), 2);
  w.applyAssignments(message([]));
  await until(() => failed() === 1, "the failed removal", e.clock);
  await until(() => detached.length === 1, "the network released", e.clock);
  const shutdown = () =>
    e.updates.some((u) => u.taskId === "web1" && u.status.state === "shutdown");
  assert.ok(!shutdown(), "not reported down before the container is removed");
  // The retry waits on the clock: advance it once the wait is set (after the cleanup's file I/O).
  await until(() => e.clock.pending > 0, "the retry's timer", e.clock);
  await e.clock.advance(1_000);
  await until(() => failed() === 2, "the second failed removal", e.clock);
  await until(() => e.clock.pending > 0, "the retry's timer", e.clock);
  await e.clock.advance(2_000);
  await w.settled();
  assert.deepEqual(await e.runtime.list(), []);
  assert.ok(shutdown());
  await w.stop();
  assert.equal((await e.open()).runner("web1"), undefined, "the record is gone with the container");

  // A worker stopping while the removal still fails keeps the record: the next start resumes
  // the task, and the manager's next complete message removes it.
  const w2 = await e.open();
  w2.applyAssignments(message([assignment({}, { id: "web2" })]));
  await until(() => stateOf(w2, "web2") === "running", "running", e.clock);
  const failed2 = failCalls(
    e.runtime,
    "remove",
    new UnavailableError("containerd: unavailable"),
    1e9,
  );
  w2.applyAssignments(message([]));
  await until(() => failed2() === 1, "the failed removal", e.clock);
  await w2.stop();
  assert.equal((await e.open()).runner("web2")?.status.state, "running");
});

Deno.test("worker: an unowned container removed at start has its network released", async () => {
  await using e = await env();
  await e.runtime.pull(IMAGES.web);
  await e.runtime.prepare({
    taskId: "orphan",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node1" },
  });
  const detached: string[] = [];
  const w = await Worker.open({
    nodeId: "node1",
    dataDir: e.dir,
    runtime: e.runtime,
    clock: e.clock,
    network: { ...hostNetwork, detach: (id) => Promise.resolve(void detached.push(id)) },
  });
  await w.stop();
  assert.deepEqual(await e.runtime.list(), []);
  assert.deepEqual(detached, ["orphan"]);
});

Deno.test("worker: an unowned container that cannot be removed at start does not keep the worker from starting", async () => {
  await using e = await env();
  const w1 = await e.open();
  w1.applyAssignments(message([assignment({}, { id: "keep" })]));
  await until(() => stateOf(w1, "keep") === "running", "running", e.clock);
  await w1.stop();
  await e.runtime.prepare({
    taskId: "orphan",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node1" },
  });
  await e.runtime.start("orphan");
  const detached: string[] = [];
  const failed = failCalls(e.runtime, "remove", new UnavailableError("shim: ttrpc: closed"), 1);
  const w = await Worker.open({
    nodeId: "node1",
    dataDir: e.dir,
    runtime: e.runtime,
    clock: e.clock,
    network: { ...hostNetwork, detach: (id) => Promise.resolve(void detached.push(id)) },
  });
  try {
    assert.equal(failed(), 1);
    assert.deepEqual(w.adopted, ["keep"], "its own tasks are re-adopted all the same");
    assert.deepEqual(detached, [], "the network of a container that may still run is kept");
    // Tried again after a backoff, and then its network goes too.
    await until(() => e.clock.pending > 0, "the retry's timer", e.clock);
    await e.clock.advance(1_000);
    await until(() => detached.length === 1, "the orphan removed", e.clock);
    assert.deepEqual((await e.runtime.list()).map((c) => c.id), ["keep"]);
  } finally {
    await w.stop();
  }
});

Deno.test("worker: after a restart, a task that had not started waits for the first complete message and its secrets", async () => {
  await using e = await env();
  const a = assignment({ secrets: [{ secret: "db-pass" }] }, { id: "sec", state: "preparing" });
  {
    // The worker went down while the task was preparing.
    await using state = await LocalState.open(join(e.dir, "worker.kv"));
    await state.put({ assignment: a, status: a.task.status, restarts: [] });
  }
  const w = await e.open();
  // Let whatever the worker would do on its own run (macrotask turns, no time passes).
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(stateOf(w, "sec"), "preparing", w.runner("sec")?.status.error ?? "");
  w.applyAssignments(message([a], {
    secrets: [{ id: "s1", name: "db-pass", data: btoa("hunter2") }],
  }));
  await until(() => stateOf(w, "sec") === "running", "running", e.clock);
  const r = await e.runtime.exec("sec", { cmd: ["cat", "/run/secrets/db-pass"] });
  assert.equal(r.stdout, "hunter2");
});

Deno.test("worker: autonomous restart while disconnected; reconnect does not restart healthy tasks", async () => {
  await using e = await env();
  const w = await e.open();
  w.setConnected(true);
  const crash = assignment({
    image: IMAGES.exit,
    env: ["WARREN_SLEEP_MS=1000"],
    restartPolicy: { condition: "on-failure", delayMs: 500, maxAttempts: 5 },
  }, { id: "crash" });
  const steady = assignment({}, { id: "steady" });
  w.applyAssignments(message([crash, steady]));
  await until(
    () => stateOf(w, "crash") === "running" && stateOf(w, "steady") === "running",
    "running",
    e.clock,
  );
  w.setConnected(false); // the manager went away
  await e.clock.advance(1_000); // crash exits 3
  await until(
    () => /restarting locally/.test(w.runner("crash")!.status.message),
    "restart",
    e.clock,
  );
  await e.clock.advance(500);
  await until(() => w.runner("crash")!.restartCount === 1, "restarted", e.clock);
  assert.equal(stateOf(w, "crash"), "running");
  const starts = e.runtime.calls.get("start");

  // Reconnect: the manager's complete view still has both tasks as running.
  w.setConnected(true);
  const asRunning = (a: typeof crash) => ({
    ...a,
    task: { ...a.task, status: { ...a.task.status, state: "running" as const } },
  });
  w.applyAssignments(message([asRunning(crash), asRunning(steady)]));
  await w.settled();
  assert.equal(e.runtime.calls.get("start"), starts, "reconcile restarted nothing");
  const current = Object.fromEntries(w.statuses().map((u) => [u.taskId, u.status]));
  assert.equal(current.crash.state, "running");
  assert.match(current.crash.message, /restarted locally after exit code 3 \(attempt 1\)/);
  // Connected again: the next crash is reported, not restarted locally.
  await e.clock.advance(1_000);
  await until(() => stateOf(w, "crash") === "failed", "failed", e.clock);
});

Deno.test("worker: a task the manager thinks runs here but this worker never saw is reported failed", async () => {
  await using e = await env();
  const w = await e.open();
  const ghost = assignment({}, { id: "ghost", state: "running" });
  w.applyAssignments(message([ghost]));
  const u = e.updates.find((x) => x.taskId === "ghost");
  assert.equal(u?.status.state, "failed");
  assert.match(u!.status.error!, /no record of the task/);
  assert.equal(w.tasks().length, 0);
});

Deno.test("worker: desired shutdown, drain on stop, and metrics", async () => {
  await using e = await env();
  const w = await e.open();
  const a = assignment({}, { id: "a1" });
  const b = assignment({ name: "api", image: IMAGES.web }, { id: "b1" });
  w.applyAssignments(message([a, b]));
  await until(
    () => stateOf(w, "a1") === "running" && stateOf(w, "b1") === "running",
    "running",
    e.clock,
  );
  await e.clock.advance(2_000);
  const m = await w.metrics();
  assert.deepEqual(m.map((x) => [x.taskId, x.serviceName]), [["a1", "web"], ["b1", "api"]]);
  assert.ok(m.every((x) => x.cpuNs > 0 && x.memoryBytes > 0));

  w.applyAssignments(message([withDesired(a, "shutdown"), b], { complete: false }));
  await until(() => stateOf(w, "a1") === "shutdown", "shutdown", e.clock);
  assert.equal((await e.runtime.inspect("a1")).state, "stopped");
  await w.stop({ drain: true });
  assert.equal((await e.runtime.inspect("b1")).state, "stopped");
  assert.equal(e.updates.findLast((u) => u.taskId === "b1")?.status.state, "shutdown");
});

Deno.test("worker: a stop for leaving shuts every task down, then removes its container, network, files and record", async () => {
  await using e = await env();
  const detached: string[] = [];
  const w = await Worker.open({
    nodeId: "node1",
    dataDir: e.dir,
    runtime: e.runtime,
    clock: e.clock,
    network: { ...hostNetwork, detach: (id) => Promise.resolve(void detached.push(id)) },
  });
  w.onStatus((u) => e.updates.push(u));
  const a = assignment({}, { id: "a1" });
  const b = assignment({}, { id: "b1", slot: 2 });
  w.applyAssignments(message([a, b]));
  await until(
    () => stateOf(w, "a1") === "running" && stateOf(w, "b1") === "running",
    "running",
    e.clock,
  );
  // A task shut down already keeps its stopped container (and, in containerd, its shim).
  w.applyAssignments(message([withDesired(a, "shutdown"), b], { complete: false }));
  await until(() => stateOf(w, "a1") === "shutdown", "shutdown", e.clock);
  assert.equal((await e.runtime.inspect("a1")).state, "stopped");
  // A container of this node without a runner (a removal given up), and another node's.
  await e.runtime.prepare({
    taskId: "stray",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node1" },
  });
  await e.runtime.prepare({
    taskId: "other-node",
    image: IMAGES.web,
    labels: { [Labels.nodeId]: "node2" },
  });
  const logs = join(e.dir, "logs");
  for (const f of ["a1.log", "b1.log", "stray.log"]) await Deno.writeTextFile(join(logs, f), "x\n");
  const stops = e.runtime.calls.get("stop") ?? 0;

  await w.stop({ remove: true });
  assert.ok((e.runtime.calls.get("stop") ?? 0) > stops, "stopped with its signal first");
  assert.equal(e.updates.findLast((u) => u.taskId === "b1")?.status.state, "shutdown");
  assert.deepEqual((await e.runtime.list()).map((c) => c.id), ["other-node"]);
  assert.deepEqual(detached.sort(), ["a1", "b1", "stray"], "their networks are released");
  assert.deepEqual([...Deno.readDirSync(logs)], [], "their log files are gone");
  const again = await e.open();
  assert.deepEqual(again.tasks(), [], "no record is left to resume");
});

Deno.test("worker: asks the registry once per image and service version", async () => {
  await using e = await env();
  const w = await e.open();
  const registry = () => e.runtime.calls.get("registry") ?? 0;
  const run = async (a: ReturnType<typeof assignment>, all: ReturnType<typeof assignment>[]) => {
    w.applyAssignments(message(all));
    await until(() => stateOf(w, a.task.id) === "running", `${a.task.id} running`, e.clock);
  };
  const v1 = [assignment({}, { id: "a1" })];
  await run(v1[0], v1);
  assert.equal(registry(), 1, "the first task of a service version pulls");
  v1.push(assignment({}, { id: "a2", slot: 2 }));
  await run(v1[1], v1);
  assert.equal(registry(), 1, "scaling up the same version takes the local image");
  assert.equal(e.runtime.calls.get("pull"), 2);
  const v2 = assignment({}, { id: "a3", slot: 3 });
  v2.task.specVersion = 2;
  await run(v2, [...v1, v2]);
  assert.equal(registry(), 2, "a new service version pulls again (the tag may have moved)");
  const other = assignment({ name: "other" }, { id: "b1" });
  other.task.serviceId = "svc2";
  await run(other, [...v1, v2, other]);
  assert.equal(registry(), 3, "so does another service");
});

Deno.test("worker: a digest reference that is present is not pulled again", async () => {
  await using e = await env();
  const image = `fake.local/warren/web@sha256:${"a".repeat(64)}`;
  e.runtime.addImage({ ref: image, config: { cmd: ["httpd", "-f"] } });
  const w = await e.open();
  const a = assignment({ image }, { id: "d1" });
  w.applyAssignments(message([a]));
  await until(() => stateOf(w, "d1") === "running", "d1 running", e.clock);
  const b = assignment({ image, name: "other" }, { id: "d2" });
  b.task.serviceId = "svc2";
  w.applyAssignments(message([a, b]));
  await until(() => stateOf(w, "d2") === "running", "d2 running", e.clock);
  assert.equal(e.runtime.calls.get("registry"), 1);
  assert.equal(e.runtime.calls.get("pull"), 2);
});

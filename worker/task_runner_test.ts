import assert from "node:assert/strict";
import type { Assignment, TaskStatus } from "../proto/schema/mod.ts";
import { logger } from "../proto/log.ts";
import type { FakeRuntime, ManualClock } from "../runtime/fake.ts";
import type { NetworkMode } from "../runtime/runtime.ts";
import { assignment, failCalls, fakeRuntime, IMAGES, until, withDesired } from "./_test_util.ts";
import { UnavailableError } from "../proto/errors.ts";
import type { ProbeResult } from "./probes.ts";
import { SecretCache } from "./secrets.ts";
import { type TaskHooks, type TaskRecord, TaskRunner } from "./task_runner.ts";

interface Harness {
  runner: TaskRunner;
  runtime: FakeRuntime;
  clock: ManualClock;
  seen: TaskStatus[];
  connected: { value: boolean };
  probeResults: ProbeResult[];
}

function harness(
  record: TaskRecord,
  opts: {
    runtime?: FakeRuntime;
    clock?: ManualClock;
    connected?: boolean;
    drainNetwork?: (a: Assignment) => Promise<void>;
    hooks?: Partial<TaskHooks>;
  } = {},
): Harness {
  const made = opts.runtime && opts.clock
    ? { runtime: opts.runtime, clock: opts.clock }
    : fakeRuntime();
  const { runtime, clock } = made;
  const seen: TaskStatus[] = [];
  const connected = { value: opts.connected ?? true };
  const secrets = new SecretCache();
  secrets.apply({
    complete: true,
    secrets: [{ id: "s1", name: "db-pass", data: btoa("hunter2") }],
    removedSecretIds: [],
  });
  const probeResults: ProbeResult[] = [];
  const runner = new TaskRunner({
    runtime,
    clock,
    nodeId: "node1",
    isConnected: () => connected.value,
    onChange: (r) => seen.push(r.status),
    log: logger("test"),
    hooks: {
      pull: async (a) => void await runtime.pull(a.spec.image),
      mounts: () => Promise.resolve([]),
      secrets: (a) => secrets.files(a.spec.secrets),
      attachNetwork: () =>
        Promise.resolve({ network: { mode: "none" } as NetworkMode, ip: "10.0.0.7" }),
      detachNetwork: () => Promise.resolve(),
      ...(opts.drainNetwork ? { drainNetwork: opts.drainNetwork } : {}),
      logPath: (id) => `/tmp/${id}.log`,
      probe: () => () => Promise.resolve(probeResults.shift() ?? { ok: true }),
      ...opts.hooks,
    },
  }, record);
  return { runner, runtime, clock, seen, connected, probeResults };
}

function fresh(a = assignment()): TaskRecord {
  return { assignment: a, status: a.task.status, restarts: [] };
}

Deno.test("task runner: one forward transition per step, container created while starting", async () => {
  const h = harness(
    fresh(assignment({ labels: { team: "web" }, containerLabels: { "com.example.logs": "json" } })),
  );
  const { runner, runtime } = h;
  const states = async () => {
    assert.equal(await runner.step(), true);
    return runner.status.state;
  };
  assert.equal(await states(), "accepted");
  assert.equal(await states(), "preparing");
  assert.equal(runtime.calls.get("pull"), undefined, "pulling happens in the preparing step");
  assert.equal(await states(), "starting");
  assert.equal(runtime.calls.get("pull"), 1);
  assert.equal(runtime.calls.get("prepare"), undefined);
  assert.equal(await states(), "running");
  assert.equal(runtime.calls.get("prepare"), 1);
  assert.equal(runtime.calls.get("start"), 1);
  assert.equal(runner.status.containerId, runner.id);
  assert.equal(runner.status.ip, "10.0.0.7");
  assert.deepEqual(h.seen.map((s) => s.state), ["accepted", "preparing", "starting", "running"]);
  const c = await runtime.inspect(runner.id);
  assert.equal(c.state, "running");
  assert.equal(c.labels["warren.node.id"], "node1");
  assert.equal(c.labels["warren.service.id"], "svc1");
  assert.equal(c.labels["com.example.logs"], "json", "the service's container labels");
  assert.equal(c.labels["team"], undefined, "not the service's own labels");
});

Deno.test("task runner: exit 0 completes, non-zero fails with the exit code", async () => {
  for (const [code, state] of [[0, "complete"], [3, "failed"]] as const) {
    const h = harness(fresh(assignment({
      image: IMAGES.exit,
      env: [`WARREN_EXIT_CODE=${code}`],
      restartPolicy: { condition: "any" },
    })));
    void h.runner.run();
    await until(() => h.runner.status.state === "running", "running", h.clock);
    await h.clock.advance(100);
    await until(() => h.runner.status.state === state, state, h.clock);
    assert.equal(h.runner.status.exitCode, code);
    if (code !== 0) assert.equal(h.runner.status.error, "exited with code 3");
    assert.equal(h.runtime.calls.get("start"), 1, "connected: the orchestrator restarts, not us");
  }
});

Deno.test("task runner: desired shutdown stops with the spec's stop signal and grace period", async () => {
  const h = harness(fresh(assignment({
    image: IMAGES.stubborn,
    stopSignal: "SIGINT",
    stopGracePeriodMs: 2_000,
  })));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "shutdown"));
  await until(() => h.runner.status.state === "shutdown", "shutdown", h.clock);
  assert.equal(h.runner.status.exitCode, 2, "SIGINT (the stop signal) ended it");

  // SIGTERM is ignored by this image: SIGKILL follows after the grace period, not before.
  const h2 = harness(fresh(assignment({ image: IMAGES.stubborn, stopGracePeriodMs: 2_000 })));
  void h2.runner.run();
  await until(() => h2.runner.status.state === "running", "running", h2.clock);
  h2.runner.update(withDesired(h2.runner.assignment, "shutdown"));
  await until(() => h2.runtime.calls.get("stop") === 1, "stop", h2.clock);
  await h2.clock.advance(1_999);
  assert.equal(h2.runner.status.state, "running");
  await h2.clock.advance(1);
  await until(() => h2.runner.status.state === "shutdown", "shutdown", h2.clock);
  assert.equal(h2.runner.status.exitCode, 137);
});

Deno.test("task runner: a running task is drained from the network before its container stops", async () => {
  let release!: () => void;
  const drained: string[] = [];
  const h = harness(fresh(), {
    drainNetwork: (a) => {
      drained.push(a.task.id);
      return new Promise<void>((r) => (release = r));
    },
  });
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "shutdown"));
  await until(() => drained.length === 1, "drain", h.clock);
  assert.equal(h.runtime.calls.get("stop") ?? 0, 0, "no stop while draining");
  assert.equal(h.runner.status.state, "running");
  release();
  await until(() => h.runner.status.state === "shutdown", "shutdown", h.clock);
  assert.equal(h.runtime.calls.get("stop"), 1);
  assert.deepEqual(drained, [h.runner.id]);

  // A failing drain does not keep the task from stopping; a never-started task is not drained.
  const h2 = harness(fresh(), { drainNetwork: () => Promise.reject(new Error("iptables")) });
  void h2.runner.run();
  await until(() => h2.runner.status.state === "running", "running", h2.clock);
  h2.runner.update(withDesired(h2.runner.assignment, "shutdown"));
  await until(() => h2.runner.status.state === "shutdown", "shutdown", h2.clock);
  let drainedUnstarted = false;
  const h3 = harness(fresh(withDesired(assignment(), "shutdown")), {
    drainNetwork: () => Promise.resolve(void (drainedUnstarted = true)),
  });
  void h3.runner.run();
  await until(() => h3.runner.status.state === "shutdown", "shutdown", h3.clock);
  assert.equal(drainedUnstarted, false);
});

Deno.test("task runner: states never move backwards; a stale desired state cannot revive a task", async () => {
  const h = harness(fresh());
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "shutdown"));
  await until(() => h.runner.status.state === "shutdown", "shutdown", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "running")); // late, stale message
  assert.equal(h.runner.desiredState, "shutdown");
  assert.equal(await h.runner.step(), false);
  assert.equal(h.runner.status.state, "shutdown");
  const order = ["accepted", "preparing", "starting", "running", "shutdown"];
  assert.deepEqual([...new Set(h.seen.map((s) => s.state))], order);
});

Deno.test("task runner: a pull failure or a missing secret rejects the task", async () => {
  const h = harness(fresh(assignment({ image: IMAGES.broken })));
  await h.runner.run();
  assert.equal(h.runner.status.state, "rejected");
  assert.match(h.runner.status.error!, /connection refused/);
  assert.equal(h.runtime.calls.get("prepare"), undefined);

  const h2 = harness(fresh(assignment({ secrets: [{ secret: "nope" }] })));
  await h2.runner.run();
  assert.equal(h2.runner.status.state, "rejected");
  assert.match(h2.runner.status.error!, /secret "nope" not found/);
});

Deno.test("task runner: shutdown before start creates no container", async () => {
  const h = harness(fresh(assignment({}, { desiredState: "shutdown" })));
  await h.runner.run();
  assert.equal(h.runner.status.state, "shutdown");
  assert.equal(h.runtime.calls.get("prepare"), undefined);
});

Deno.test("task runner: secrets reach the container with their reference's mode", async () => {
  const h = harness(fresh(assignment({
    secrets: [{ secret: "db-pass", target: "pw" }, {
      secret: "db-pass",
      target: "pw-private",
      mode: 0o400,
    }],
  })));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  const r = await h.runtime.exec(h.runner.id, { cmd: ["cat", "/run/secrets/pw"] });
  assert.equal(r.stdout, "hunter2");
  const mode = (file: string) =>
    h.runtime.exec(h.runner.id, { cmd: ["stat", "-c", "%a", `/run/secrets/${file}`] })
      .then((x) => x.stdout.trim());
  assert.equal(await mode("pw"), "444", "the spec's default");
  assert.equal(await mode("pw-private"), "400");
  await h.runner.remove();
  assert.equal(h.runtime.hostHasSecrets(h.runner.id), false, "secrets go with the task");
});

Deno.test("task runner: /etc/hostname and /etc/hosts are written for the task, mounted, removed with it", async () => {
  const calls: string[] = [];
  const enc = new TextEncoder();
  const { runtime, clock } = fakeRuntime();
  const h = harness(fresh(assignment()), {
    runtime,
    clock,
    hooks: {
      etcFiles: (id, input) => {
        calls.push(`write ${id} ${input.hostname} ${input.ip} ${input.network.mode}`);
        // The fake runtime's binds read its in-memory host file system.
        runtime.hostFs.set(`/data/${id}/hosts`, {
          data: enc.encode(`${input.ip}\t${input.hostname}\n`),
          mode: 0o644,
        });
        return Promise.resolve([
          { source: `/data/${id}/hosts`, destination: "/etc/hosts", readonly: true },
        ]);
      },
      removeEtcFiles: (id) => Promise.resolve(void calls.push(`remove ${id}`)),
    },
  });
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  const id = h.runner.id;
  assert.deepEqual(calls, [`write ${id} web.1 10.0.0.7 none`]);
  const hosts = await h.runtime.exec(id, { cmd: ["cat", "/etc/hosts"] });
  assert.equal(hosts.stdout, "10.0.0.7\tweb.1\n");
  await h.runner.remove();
  assert.deepEqual(calls.at(-1), `remove ${id}`);
});

Deno.test("task runner: without a manager, restarts locally per policy up to max attempts", async () => {
  const h = harness(
    fresh(assignment({
      image: IMAGES.exit,
      restartPolicy: { condition: "on-failure", delayMs: 1_000, maxAttempts: 2 },
    })),
    { connected: false },
  );
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  for (const attempt of [1, 2]) {
    await h.clock.advance(100); // exits with 3
    await until(() => /restarting locally/.test(h.runner.status.message), "restart", h.clock);
    assert.equal(h.runner.status.state, "running", "state stays running across local restarts");
    await h.clock.advance(999);
    assert.equal(h.runtime.calls.get("start"), attempt, "not before the delay");
    await h.clock.advance(1);
    await until(() => h.runtime.calls.get("start") === attempt + 1, "restarted", h.clock);
    await until(() => /restarted locally/.test(h.runner.status.message), "message", h.clock);
    assert.equal(h.runner.status.localRestarts, attempt, "reported for the orchestrator's count");
  }
  assert.equal(h.runner.restartCount, 2);
  await h.clock.advance(100);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.match(h.runner.status.error!, /gave up after 2 restart attempts/);
  assert.equal(h.runner.status.localRestarts, 2, "kept in the final status");
  assert.equal(h.runner.status.exitCode, 3);
  assert.equal((await h.runtime.inspect(h.runner.id)).id, h.runner.id, "same container ID");
});

Deno.test("task runner: locally, on-failure does not restart exit 0 and none never restarts", async () => {
  const h = harness(
    fresh(assignment({
      image: IMAGES.exit,
      env: ["WARREN_EXIT_CODE=0"],
      restartPolicy: { condition: "on-failure" },
    })),
    { connected: false },
  );
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  await h.clock.advance(100);
  await until(() => h.runner.status.state === "complete", "complete", h.clock);
  assert.equal(h.runtime.calls.get("start"), 1);

  const h2 = harness(
    fresh(assignment({ image: IMAGES.exit, restartPolicy: { condition: "none" } })),
    { connected: false },
  );
  void h2.runner.run();
  await until(() => h2.runner.status.state === "running", "running", h2.clock);
  await h2.clock.advance(100);
  await until(() => h2.runner.status.state === "failed", "failed", h2.clock);
  assert.match(h2.runner.status.error!, /condition is none/);
});

Deno.test("task runner: a running container is re-adopted without a restart", async () => {
  const { runtime, clock } = fakeRuntime();
  const a = assignment({ image: IMAGES.exit, env: ["WARREN_SLEEP_MS=5000"] });
  const h1 = harness(fresh(a), { runtime, clock });
  void h1.runner.run();
  await until(() => h1.runner.status.state === "running", "running", clock);
  await h1.runner.detach(); // worker restart: the container keeps running
  assert.equal((await runtime.inspect(a.task.id)).state, "running");

  const h2 = harness(h1.runner.record, { runtime, clock });
  void h2.runner.run();
  await clock.advance(10);
  assert.equal(runtime.calls.get("prepare"), 1);
  assert.equal(runtime.calls.get("start"), 1);
  assert.equal(h2.seen.length, 0, "nothing changed, nothing reported");
  await clock.advance(5_000);
  await until(() => h2.runner.status.state === "failed", "failed", clock);
  assert.equal(h2.runner.status.exitCode, 3);
});

Deno.test("task runner: a task recorded as starting resumes without creating a second container", async () => {
  const { runtime, clock } = fakeRuntime();
  const a = assignment();
  await runtime.pull(a.spec.image);
  await runtime.prepare({ taskId: a.task.id, image: a.spec.image }); // crashed before start
  const h = harness({
    assignment: a,
    status: { ...a.task.status, state: "starting" },
    restarts: [],
  }, {
    runtime,
    clock,
  });
  assert.equal(await h.runner.step(), true);
  assert.equal(h.runner.status.state, "running");
  assert.equal(runtime.calls.get("prepare"), 1);
  assert.equal(runtime.calls.get("start"), 1);
});

/** An exec health check (probes come from the harness's `probeResults`, default success). */
function healthCheck(check: { retries?: number; startPeriodMs?: number } = {}) {
  return {
    type: "exec" as const,
    exec: { command: ["true"] },
    intervalMs: 1_000,
    retries: check.retries ?? 2,
    startPeriodMs: check.startPeriodMs ?? 0,
  };
}

const fail = (error: string) => ({ ok: false as const, error });

Deno.test("task runner: health is starting until the first success; unhealthy stops and fails the task", async () => {
  const drained: string[] = [];
  const h = harness(
    fresh(assignment({
      image: IMAGES.stubborn, // exits 2 on SIGINT
      stopSignal: "SIGINT",
      stopGracePeriodMs: 2_000,
      restartPolicy: { condition: "any" },
      healthCheck: healthCheck(),
    })),
    { drainNetwork: (a) => Promise.resolve(void drained.push(a.task.id)) },
  );
  h.probeResults.push(fail("not yet"), { ok: true }, fail("a"), fail("b"));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  assert.equal(h.runner.status.health, "starting");
  await h.clock.advance(1_000); // fail 1 of 2: still starting
  await until(() => h.probeResults.length === 3, "probe", h.clock);
  assert.equal(h.runner.status.health, "starting");
  await h.clock.advance(1_000);
  await until(() => h.runner.status.health === "healthy", "healthy", h.clock);
  await h.clock.advance(1_000);
  await until(() => h.probeResults.length === 1, "probe", h.clock);
  assert.equal(h.runner.status.health, "healthy", "one failure of two allowed");
  assert.equal(h.runner.status.state, "running");
  await h.clock.advance(1_000);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.equal(h.runner.status.health, "unhealthy");
  assert.equal(h.runner.status.error, "unhealthy: b");
  assert.equal(h.runner.status.message, "unhealthy: b");
  assert.equal(h.runner.status.exitCode, 2, "stopped with the spec's stop signal");
  assert.deepEqual(drained, [h.runner.id], "out of service traffic before the stop");
  assert.equal(h.runtime.calls.get("stop"), 1);
  assert.equal(h.runtime.calls.get("start"), 1, "connected: the orchestrator replaces it");
  assert.ok(
    h.seen.some((s) => s.state === "running" && s.health === "unhealthy"),
    "unhealthy is reported while the container stops",
  );
});

Deno.test("task runner: an unhealthy container gets its stop grace period before SIGKILL", async () => {
  const h = harness(fresh(assignment({
    image: IMAGES.stubborn, // ignores SIGTERM
    stopGracePeriodMs: 5_000,
    healthCheck: healthCheck({ retries: 1 }),
  })));
  h.probeResults.push(fail("connection refused"));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  await h.clock.advance(1_000);
  await until(() => h.runtime.calls.get("stop") === 1, "stop", h.clock);
  assert.equal(h.runner.status.health, "unhealthy");
  await h.clock.advance(4_999);
  assert.equal(h.runner.status.state, "running", "still within the grace period");
  await h.clock.advance(1);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.equal(h.runner.status.exitCode, 137);
  assert.equal(h.runner.status.error, "unhealthy: connection refused");
});

Deno.test("task runner: a task that never passes its check fails once start period and retries are over", async () => {
  const h = harness(fresh(assignment({
    healthCheck: healthCheck({ retries: 3, startPeriodMs: 5_000 }),
  })));
  for (let i = 0; i < 20; i++) h.probeResults.push(fail(`refused ${i + 1}`));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  for (let t = 1; t <= 6; t++) {
    await h.clock.advance(1_000);
    await until(() => h.probeResults.length === 20 - t, `probe ${t}`, h.clock);
  }
  // Probes at 1..4 s fall in the start period; 5 and 6 s are counted failures 1 and 2 (of 3).
  assert.equal(h.runner.status.state, "running");
  assert.equal(h.runner.status.health, "starting");
  await h.clock.advance(1_000);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.equal(h.runner.status.health, "unhealthy");
  assert.equal(h.runner.status.error, "unhealthy: refused 7");
});

Deno.test("task runner: a success before retries run out resets the failure count", async () => {
  const h = harness(fresh(assignment({ healthCheck: healthCheck({ retries: 2 }) })));
  h.probeResults.push({ ok: true }, fail("a"), { ok: true }, fail("b"), { ok: true }, fail("c"));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  for (let t = 1; t <= 6; t++) {
    await h.clock.advance(1_000);
    await until(() => h.probeResults.length === 6 - t, `probe ${t}`, h.clock);
  }
  assert.equal(h.runner.status.state, "running", "never two failures in a row");
  assert.equal(h.runner.status.health, "healthy");
  h.probeResults.push(fail("d"));
  await h.clock.advance(1_000);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.equal(h.runner.status.error, "unhealthy: d", "c and d: two in a row");
});

Deno.test("task runner: without a manager, an unhealthy task restarts locally per policy", async () => {
  const drained: string[] = [];
  const h = harness(
    fresh(assignment({
      restartPolicy: { condition: "on-failure", delayMs: 1_000, maxAttempts: 1 },
      healthCheck: healthCheck({ retries: 1 }),
    })),
    { connected: false, drainNetwork: (a) => Promise.resolve(void drained.push(a.task.id)) },
  );
  h.probeResults.push(fail("refused"));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  await h.clock.advance(1_000);
  await until(() => /restarting locally/.test(h.runner.status.message), "restart", h.clock);
  assert.match(h.runner.status.message, /^unhealthy: refused; no manager reachable/);
  assert.equal(h.runtime.calls.get("stop"), 1, "the unhealthy container was stopped");
  assert.equal(h.runner.status.state, "running", "state stays running across local restarts");
  assert.deepEqual(drained, [], "the task keeps its place in the VIPs");
  await h.clock.advance(1_000);
  await until(() => h.runtime.calls.get("start") === 2, "restarted", h.clock);
  await until(() => /restarted locally/.test(h.runner.status.message), "message", h.clock);
  assert.equal(h.runner.status.message, "restarted locally after turning unhealthy (attempt 1)");
  assert.equal(h.runner.status.health, "starting", "the new container starts its checks over");
  assert.equal(h.runner.restartCount, 1);

  // Healthy, then unhealthy again: max attempts reached, so it fails (drained, nothing restarts).
  h.probeResults.push({ ok: true }, fail("refused again"));
  await h.clock.advance(1_000);
  await until(() => h.runner.status.health === "healthy", "healthy", h.clock);
  await h.clock.advance(1_000);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.match(
    h.runner.status.error!,
    /^unhealthy: refused again; not restarted locally: gave up after 1 restart attempts/,
  );
  assert.deepEqual(drained, [h.runner.id]);
  assert.equal(h.runtime.calls.get("start"), 2);
});

Deno.test("task runner: a re-adopted task recorded as unhealthy is stopped and failed", async () => {
  const { runtime, clock } = fakeRuntime();
  const a = assignment({ healthCheck: healthCheck() });
  const h1 = harness(fresh(a), { runtime, clock });
  void h1.runner.run();
  await until(() => h1.runner.status.state === "running", "running", clock);
  await h1.runner.detach(); // the worker went down just as the check failed
  const record = h1.runner.record;
  record.status = { ...record.status, health: "unhealthy", message: "unhealthy: refused" };

  const h2 = harness(record, { runtime, clock });
  void h2.runner.run();
  await until(() => h2.runner.status.state === "failed", "failed", clock);
  assert.equal(h2.runner.status.error, "unhealthy: refused");
  assert.equal((await runtime.inspect(a.task.id)).state, "stopped");
});

Deno.test("task runner: pull progress shows in the status message, at most once a second", async () => {
  const lines = [
    "pulling a: 1.0 of 9.0 MB",
    "pulling a: 2.0 of 9.0 MB",
    "unpacking a: layer 1 of 1",
  ];
  const h = harness(fresh(), {
    hooks: {
      pull: async (_a, onProgress) => {
        onProgress?.(lines[0]!);
        onProgress?.(lines[1]!); // same instant: not shown
        await h.clock.advance(1_000);
        onProgress?.(lines[2]!);
      },
    },
  });
  assert.equal(await h.runner.step(), true); // accepted
  assert.equal(await h.runner.step(), true); // preparing
  assert.equal(await h.runner.step(), true); // pulls, then starting
  const messages = h.seen.map((s) => s.message);
  assert.ok(messages.includes(`preparing: ${lines[0]}`), messages.join(" | "));
  assert.ok(!messages.includes(`preparing: ${lines[1]}`), messages.join(" | "));
  assert.ok(messages.includes(`preparing: ${lines[2]}`), messages.join(" | "));
  assert.equal(h.runner.status.state, "starting");
});

Deno.test("task runner: a wait that fails while containerd restarts does not fail the task", async () => {
  const h = harness(fresh(assignment({ image: IMAGES.exit, env: ["WARREN_SLEEP_MS=5000"] })));
  const failed = failCalls(h.runtime, "wait", new UnavailableError("containerd Tasks/Wait: reset"));
  void h.runner.run();
  await until(() => failed() === 1, "the failed wait", h.clock);
  await until(() => h.clock.pending === 2, "the backoff (and the container's exit timer)", h.clock);
  assert.equal(h.runner.status.state, "running", h.runner.status.message);
  assert.equal((await h.runtime.inspect(h.runner.id)).state, "running");
  await h.clock.advance(500);
  await until(() => h.runtime.calls.get("wait") === 1, "waiting again", h.clock);
  // Once containerd is back, the real exit ends the task.
  await h.clock.advance(5_000);
  await until(() => h.runner.status.state === "failed", "failed", h.clock);
  assert.equal(h.runner.status.error, "exited with code 3");
});

Deno.test("task runner: a stop that fails transiently is retried, not reported done", async () => {
  const h = harness(fresh());
  const failed = failCalls(h.runtime, "stop", new UnavailableError("containerd Tasks/Kill: reset"));
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "shutdown"));
  await until(() => failed() === 1, "the failed stop", h.clock);
  await until(() => h.clock.pending === 1, "the backoff", h.clock);
  assert.equal(h.runner.status.state, "running", "not shut down while the container runs");
  assert.equal((await h.runtime.inspect(h.runner.id)).state, "running");
  await h.clock.advance(500);
  await until(() => h.runner.status.state === "shutdown", "shutdown", h.clock);
  assert.equal((await h.runtime.inspect(h.runner.id)).state, "stopped");

  // The same for the stop of an unhealthy container.
  const h2 = harness(fresh(assignment({ healthCheck: healthCheck({ retries: 1 }) })));
  const failed2 = failCalls(
    h2.runtime,
    "stop",
    new UnavailableError("containerd Tasks/Kill: reset"),
  );
  h2.probeResults.push(fail("refused"));
  void h2.runner.run();
  await until(() => h2.runner.status.state === "running", "running", h2.clock);
  await h2.clock.advance(1_000);
  await until(() => failed2() === 1, "the failed stop", h2.clock);
  await until(() => h2.clock.pending === 1, "the backoff", h2.clock);
  assert.equal(h2.runner.status.state, "running", "not failed while the container runs");
  assert.equal((await h2.runtime.inspect(h2.runner.id)).state, "running");
  await h2.clock.advance(500);
  await until(() => h2.runner.status.state === "failed", "failed", h2.clock);
  assert.equal(h2.runner.status.error, "unhealthy: refused");
  assert.equal((await h2.runtime.inspect(h2.runner.id)).state, "stopped");
});

Deno.test("task runner: a local restart that fails while containerd restarts is retried, not failed", async () => {
  const policy = { condition: "on-failure" as const, delayMs: 1_000 };
  const h = harness(fresh(assignment({ image: IMAGES.exit, restartPolicy: policy })), {
    connected: false,
  });
  void h.runner.run();
  await until(() => h.runner.status.state === "running", "running", h.clock);
  // The old container is removed, then containerd goes away before the new one is created.
  const down = new UnavailableError("containerd Containers/Get: reset");
  const failed = failCalls(h.runtime, "inspect", down, 2);
  await h.clock.advance(100); // exits with 3
  await until(() => /restarting locally/.test(h.runner.status.message), "restart", h.clock);
  await h.clock.advance(1_000);
  await until(() => failed() === 1, "the failed restart", h.clock);
  await until(() => /retrying/.test(h.runner.status.message), "retrying", h.clock);
  assert.equal(h.runner.status.state, "running", h.runner.status.message);
  assert.deepEqual(await h.runtime.list(), [], "the old container is gone already");
  await h.clock.advance(500);
  await until(() => failed() === 2, "the second failed restart", h.clock);
  assert.equal(h.runner.status.state, "running", h.runner.status.message);
  await h.clock.advance(1_000); // the backoff grows
  await until(() => /restarted locally/.test(h.runner.status.message), "restarted", h.clock);
  assert.equal(h.runner.status.state, "running");
  assert.equal(h.runner.restartCount, 1, "one attempt, however often the runtime was retried");
  assert.equal((await h.runtime.inspect(h.runner.id)).state, "running");

  // A manager reachable again while the restart waits for the runtime decides instead.
  const h2 = harness(fresh(assignment({ image: IMAGES.exit, restartPolicy: policy })), {
    connected: false,
  });
  void h2.runner.run();
  await until(() => h2.runner.status.state === "running", "running", h2.clock);
  failCalls(h2.runtime, "remove", down);
  await h2.clock.advance(1_100);
  await until(() => /retrying/.test(h2.runner.status.message), "retrying", h2.clock);
  h2.connected.value = true;
  await h2.clock.advance(500);
  await until(() => h2.runner.status.state === "failed", "failed", h2.clock);
  assert.match(h2.runner.status.error!, /local restart after exit code 3 failed; a manager/);
  assert.equal(h2.runner.status.exitCode, 3);
});

Deno.test("task runner: a running task whose container lost its process (host reboot) goes through the restart policy", async () => {
  const running = (a: Assignment): TaskRecord => ({
    assignment: a,
    status: { ...a.task.status, state: "running", containerId: a.task.id },
    restarts: [],
  });
  const policy = { restartPolicy: { condition: "on-failure" as const, delayMs: 1_000 } };
  // After a reboot containerd keeps the container but not its task: "created".
  const { runtime, clock } = fakeRuntime();
  const rebooted = assignment(policy);
  await runtime.pull(rebooted.spec.image);
  await runtime.prepare({ taskId: rebooted.task.id, image: rebooted.spec.image });
  const h = harness(running(rebooted), { runtime, clock, connected: false });
  void h.runner.run();
  await until(() => /restarting locally/.test(h.runner.status.message), "restart", clock);
  assert.match(h.runner.status.message, /process is gone.*no manager reachable/);
  await clock.advance(1_000);
  await until(() => /restarted locally/.test(h.runner.status.message), "restarted", clock);
  assert.equal(h.runner.status.state, "running");
  assert.equal((await runtime.inspect(rebooted.task.id)).state, "running");

  // The container is gone altogether: the same.
  const h2 = harness(running(assignment(policy)), { connected: false });
  await h2.runtime.pull(h2.runner.assignment.spec.image);
  void h2.runner.run();
  await until(() => /restarting locally/.test(h2.runner.status.message), "restart", h2.clock);
  await h2.clock.advance(1_000);
  await until(() => /restarted locally/.test(h2.runner.status.message), "restarted", h2.clock);
  assert.equal((await h2.runtime.inspect(h2.runner.id)).state, "running");

  // Connected: reported failed for the orchestrator to replace, not an internal error.
  const h3 = harness(running(assignment(policy)));
  void h3.runner.run();
  await until(() => h3.runner.status.state === "failed", "failed", h3.clock);
  assert.equal(h3.runner.status.error, "the container's process is gone (was the host rebooted?)");
});

Deno.test("task runner: a shutdown or detach does not wait for the task's pull", async () => {
  const slow = "fake.local/warren/slow:v1";
  const h = harness(fresh(assignment({ image: slow })));
  h.runtime.addImage({ ref: slow, config: { cmd: ["httpd"] }, pullDelayMs: 60_000 });
  void h.runner.run();
  await until(() => h.runtime.calls.get("pull") === 1, "pulling", h.clock);
  h.runner.update(withDesired(h.runner.assignment, "shutdown"));
  await until(() => h.runner.status.state === "shutdown", "shutdown", h.clock);
  await h.clock.advance(60_000); // the pull finishes after all: nothing starts
  assert.equal(h.runner.status.state, "shutdown");
  assert.equal(h.runtime.calls.get("prepare"), undefined);

  // Detached (worker stop): the runner lets go at once and does not move on to starting.
  const h2 = harness(fresh(assignment({ image: slow })));
  h2.runtime.addImage({ ref: slow, config: { cmd: ["httpd"] }, pullDelayMs: 60_000 });
  void h2.runner.run();
  await until(() => h2.runtime.calls.get("pull") === 1, "pulling", h2.clock);
  await h2.runner.detach();
  await h2.clock.advance(60_000);
  assert.equal(h2.runner.status.state, "preparing");
  assert.ok(!h2.seen.some((s) => s.state === "starting"));
});

/**
 * Unhealthy tasks are replaced, end to end over real containerd, a real registry and an
 * in-process manager: the worker stops a task whose HTTP health check keeps failing and reports
 * it failed as unhealthy; the orchestrator's restart policy puts a new task in the same slot.
 * Without a manager, the worker's local restart policy handles an unhealthy task instead.
 * Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, fetchWhenUp, freePort, workerEnv } from "./_worker_env.ts";

Deno.test("worker/containerd: a task failing its http health check is stopped, failed as unhealthy and replaced in its slot", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  const port = freePort();
  // The check asks for /state/ok, a file on a volume the tasks of the slot share. The first
  // container only leaves a mark there, so its check answers 404; its replacement finds the
  // mark and writes the file, so it turns healthy. No timing decides which task fails.
  const svc = await m.createService({
    name: "web",
    image: env.httpImage,
    command: [
      "/bin/sh",
      "-c",
      "if [ -e /www/state/seen ]; then echo ok > /www/state/ok; else touch /www/state/seen; fi; " +
      "exec /bin/warren-http-server",
    ],
    env: [`PORT=${port}`],
    mounts: [{ type: "volume", source: "health-state", target: "/www/state" }],
    healthCheck: {
      type: "http",
      http: { port, path: "/state/ok" },
      intervalMs: 200,
      timeoutMs: 1_000,
      retries: 2,
    },
    restartPolicy: { condition: "on-failure", delayMs: 300, maxAttempts: 3 },
    stopGracePeriodMs: 500,
  });
  await eventually(
    () => m.tasksOf(svc).length === 2 && m.tasksOf(svc)[1]!.status.health === "healthy",
    "a second task in the slot, healthy",
    60_000,
  );
  const [first, second] = m.tasksOf(svc);
  assert.equal(first!.status.state, "failed");
  assert.equal(first!.status.health, "unhealthy");
  assert.match(
    first!.status.error ?? "",
    new RegExp(`^unhealthy: GET http://127\\.0\\.0\\.1:${port}/state/ok answered 404`),
  );
  assert.equal(first!.status.message, first!.status.error);
  assert.equal(first!.status.exitCode, 137, "httpd ignores SIGTERM: killed after the grace period");
  assert.equal(first!.desiredState, "shutdown", "replaced");
  assert.equal(second!.slot, first!.slot, "the replacement takes the same slot");
  assert.equal(second!.status.state, "running");
  assert.ok(
    second!.createdAt >= first!.status.timestamp + 300,
    "replaced after the restart policy's delay",
  );
  assert.equal(node.worker.runner(second!.id)?.restartCount ?? 0, 0, "connected: no local restart");
  const page = await fetchWhenUp(`http://127.0.0.1:${port}/state/ok`);
  assert.equal(page.status, 200, "the replacement serves on the port the first one released");
});

Deno.test("worker/containerd: manager unreachable → an unhealthy task restarts locally, then fails per policy", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const rt = env.newRuntime();
  const node = await env.startNode(rt);
  await node.agent.waitConnected();
  const port = freePort();
  // The check passes while the test keeps /state/ok on the task's volume (a host directory).
  const volume = join(env.dataDir, "worker", "volumes", "health-flag");
  await Deno.mkdir(volume, { recursive: true });
  await Deno.writeTextFile(join(volume, "ok"), "ok\n");
  const svc = await m.createService({
    name: "web",
    image: env.httpImage,
    env: [`PORT=${port}`],
    mounts: [{ type: "volume", source: "health-flag", target: "/www/state" }],
    healthCheck: {
      type: "http",
      http: { port, path: "/state/ok" },
      intervalMs: 200,
      timeoutMs: 1_000,
      retries: 2,
    },
    restartPolicy: { condition: "on-failure", delayMs: 200, maxAttempts: 1 },
    stopGracePeriodMs: 500,
  });
  await eventually(() => m.tasksOf(svc)[0]?.status.health === "healthy", "healthy", 30_000);
  const id = m.tasksOf(svc)[0]!.id;

  await m.stop();
  await eventually(() => !node.agent.connected, "the worker notices", 10_000);
  await Deno.remove(join(volume, "ok"));
  // Unhealthy: stopped and restarted locally under the same task (attempt 1 of 1); the new
  // container fails its check too, and the policy has no attempt left.
  const runner = () => node.worker.runner(id)!;
  await eventually(() => runner().status.state === "failed", "failed locally", 30_000);
  assert.equal(runner().restartCount, 1, "one local restart");
  assert.match(
    runner().status.error!,
    /^unhealthy: GET .*\/state\/ok answered 404.*; not restarted locally: gave up after 1 restart attempts/,
  );
  assert.equal(runner().status.health, "unhealthy");
  assert.notEqual((await rt.inspect(id)).state, "running", "its container was stopped");

  // Back online: the failure is reported with its local restart, and the restart policy counts
  // both (manager/orchestrator/restart.ts): 1 restart + the failure exceed max attempts 1, so
  // the slot is retired (desired state follows the failure) instead of refilled, as it would be
  // had the task failed twice while connected.
  await Deno.writeTextFile(join(volume, "ok"), "ok\n");
  await m.restart();
  await node.agent.waitConnected(15_000);
  await eventually(() => m.task(id)?.desiredState === "failed", "the slot retired", 30_000);
  const [old, ...others] = m.tasksOf(svc);
  assert.equal(old!.id, id);
  assert.equal(old!.status.state, "failed");
  assert.equal(old!.status.localRestarts, 1);
  assert.match(old!.status.error!, /^unhealthy: /);
  assert.deepEqual(others, [], "no replacement");
});

/**
 * The worker over real containerd, a real registry and an in-process manager: a service's task
 * reaches running, passes its HTTP health check and serves its page; an exiting task is
 * reported failed with its exit code. Needs root.
 */
import assert from "node:assert/strict";
import { eventually, fetchWhenUp, freePort, workerEnv } from "./_worker_env.ts";

Deno.test("worker/containerd: a service's task runs, turns healthy, serves its page and stops", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  const port = freePort();
  const svc = await m.createService({
    name: "web",
    image: env.httpImage,
    env: [`PORT=${port}`],
    healthCheck: {
      type: "http",
      http: { port, path: "/health" },
      intervalMs: 200,
      timeoutMs: 1_000,
      retries: 2,
    },
    stopGracePeriodMs: 500,
  });
  await eventually(() => m.tasksOf(svc)[0]?.status.state === "running", "running", 30_000);
  const id = m.tasksOf(svc)[0].id;
  assert.equal(m.task(id)!.status.containerId, id);
  const page = await fetchWhenUp(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.equal(page.body.trim(), "warren-test-http version=v1 host=web.1");
  await eventually(() => m.task(id)?.status.health === "healthy", "healthy", 15_000);
  const lines: string[] = [];
  for await (const e of node.worker.runtime.logs(id)) lines.push(e.line);
  assert.ok(
    lines.some((l) => l === `warren-test-http listening on port ${port} platform=linux/amd64`),
    `the task's output is in its log: ${JSON.stringify(lines)}`,
  );
  const file = await Deno.readTextFile(`${env.dataDir}/worker/logs/${id}.log`);
  assert.match(file, /warren-test-http listening on port/, "under the worker's data dir");
  const [m1] = await node.worker.metrics();
  assert.equal(m1.taskId, id);
  assert.ok(m1.memoryBytes > 0);

  await m.scale(svc, 0);
  await eventually(() => m.task(id)?.status.state === "shutdown", "shutdown", 15_000);
  assert.equal(m.task(id)!.status.exitCode, 137, "httpd ignores SIGTERM: killed after grace");
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
});

Deno.test("worker/containerd: an exit-code image with restart policy on-failure and max attempts", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  const svc = await m.createService({
    name: "job",
    image: env.exitImage,
    env: ["WARREN_SLEEP_MS=200"],
    restartPolicy: { condition: "on-failure", delayMs: 100, maxAttempts: 2 },
  });
  // The worker reports each exit; the orchestrator replaces the task twice, then gives up.
  await eventually(
    () => m.tasksOf(svc).filter((t) => t.status.state === "failed").length === 3,
    "three failed tasks",
    45_000,
  );
  for (const t of m.tasksOf(svc)) {
    assert.equal(t.status.exitCode, 3);
    assert.equal(t.status.error, "exited with code 3");
  }
  await new Promise((r) => setTimeout(r, 1_000)); // no event marks "no further replacement"
  assert.equal(m.tasksOf(svc).length, 3, "max attempts reached: no fourth task");
  assert.ok(
    m.tasksOf(svc).every((t) => (node.worker.runner(t.id)?.restartCount ?? 0) === 0),
    "connected: the worker never restarts a task itself",
  );
});

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
  await m.createTask({ id: "web-1", serviceId: svc, nodeId: "w1" });
  await eventually(() => m.task("web-1")?.status.state === "running", "running", 30_000);
  assert.equal(m.task("web-1")!.status.containerId, "web-1");
  const page = await fetchWhenUp(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.equal(page.body.trim(), "warren-test-http version=v1 host=web.1");
  await eventually(() => m.task("web-1")?.status.health === "healthy", "healthy", 15_000);
  const lines: string[] = [];
  for await (const e of node.worker.runtime.logs("web-1")) lines.push(e.line);
  assert.ok(
    lines.some((l) => l === `warren-test-http listening on port ${port} platform=linux/amd64`),
    `the task's output is in its log: ${JSON.stringify(lines)}`,
  );
  const file = await Deno.readTextFile(`${env.dataDir}/worker/logs/web-1.log`);
  assert.match(file, /warren-test-http listening on port/, "under the worker's data dir");
  const [m1] = await node.worker.metrics();
  assert.equal(m1.taskId, "web-1");
  assert.ok(m1.memoryBytes > 0);

  await m.setDesired("web-1", "shutdown");
  await eventually(() => m.task("web-1")?.status.state === "shutdown", "shutdown", 15_000);
  assert.equal(m.task("web-1")!.status.exitCode, 137, "httpd ignores SIGTERM: killed after grace");
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
});

Deno.test("worker/containerd: an exiting task is reported failed with its exit code", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  const svc = await m.createService({
    name: "job",
    image: env.exitImage,
    env: ["WARREN_SLEEP_MS=200"],
    restartPolicy: { condition: "on-failure", maxAttempts: 2 },
  });
  await m.createTask({ id: "job-1", serviceId: svc, nodeId: "w1" });
  await eventually(() => m.task("job-1")?.status.state === "failed", "failed", 30_000);
  const st = m.task("job-1")!.status;
  assert.equal(st.exitCode, 3);
  assert.equal(st.error, "exited with code 3");
  assert.equal(node.worker.runner("job-1")!.restartCount, 0, "connected: the orchestrator decides");
});

/**
 * Autonomy: with the manager stopped for 30 s, tasks keep running and a crashed one is restarted locally
 * per its restart policy (on-failure, max attempts); when the manager is back, the worker
 * reconnects and reports what happened without restarting healthy tasks. Needs root.
 */
import assert from "node:assert/strict";
import { eventually, fetchWhenUp, freePort, workerEnv } from "./_worker_env.ts";

Deno.test("worker/containerd: manager unreachable → tasks keep running, a crashed one restarts locally", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const rt = env.newRuntime();
  const node = await env.startNode(rt);
  await node.agent.waitConnected();
  const port = freePort();
  const web = await m.createService({ name: "web", image: env.httpImage, env: [`PORT=${port}`] });
  const job = await m.createService({
    name: "job",
    image: env.exitImage,
    env: ["WARREN_SLEEP_MS=2500"],
    restartPolicy: { condition: "on-failure", delayMs: 200, maxAttempts: 2 },
  });
  const running = (svc: string) => m.tasksOf(svc).find((t) => t.status.state === "running");
  await eventually(() => !!running(web) && !!running(job), "both running", 30_000);
  const webId = running(web)!.id;
  const jobId = running(job)!.id;
  const webPid = (await rt.inspect(webId)).pid;

  await m.stop();
  const downAt = Date.now();
  await eventually(() => !node.agent.connected, "the worker notices", 10_000);
  // The job exits with 3 (2.5 s after each start): restarted locally twice, then given up.
  await eventually(
    () =>
      /restarted locally after exit code 3 \(attempt 1\)/.test(
        node.worker.runner(jobId)!.status.message,
      ),
    "first local restart",
    20_000,
  );
  assert.equal((await rt.inspect(jobId)).state, "running", "same container ID, running again");
  await eventually(() => node.worker.runner(jobId)!.status.state === "failed", "gave up", 30_000);
  assert.equal(node.worker.runner(jobId)!.restartCount, 2);
  assert.match(node.worker.runner(jobId)!.status.error!, /gave up after 2 restart attempts/);
  assert.equal((await rt.inspect(webId)).pid, webPid, "the healthy task kept running");
  assert.equal((await fetchWhenUp(`http://127.0.0.1:${port}/`)).status, 200);
  // The bar: 30 s without a manager. The web task serves all along, untouched.
  while (Date.now() - downAt < 30_000) {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.body?.cancel();
    assert.equal(res.status, 200, `web serves ${Date.now() - downAt} ms into the outage`);
    assert.equal(node.agent.connected, false);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  assert.equal((await rt.inspect(webId)).pid, webPid, "30 s later, still the same process");

  await m.restart();
  await node.agent.waitConnected(15_000);
  await eventually(() => m.task(jobId)?.status.state === "failed", "failure reported", 10_000);
  assert.equal(m.task(jobId)!.status.exitCode, 3);
  // The local restarts reach the manager, whose restart policy counts them: 1 + 2 attempts is
  // past max attempts 2, so the job is not started again (manager/orchestrator/restart.ts).
  assert.equal(m.task(jobId)!.status.localRestarts, 2);
  assert.equal(m.task(webId)?.status.state, "running");
  assert.equal((await rt.inspect(webId)).pid, webPid, "reconnect restarted nothing");
});

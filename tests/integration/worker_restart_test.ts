/**
 * A restarted worker re-adopts its containers: same container IDs and PIDs, no restart, the page
 * keeps being served; a container it no longer owns is removed. Needs root.
 */
import assert from "node:assert/strict";
import { Labels } from "../../runtime/runtime.ts";
import { eventually, fetchWhenUp, freePort, workerEnv } from "./_worker_env.ts";

Deno.test("worker/containerd: a restarted worker re-adopts its running containers", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const rt1 = env.newRuntime();
  const n1 = await env.startNode(rt1);
  await n1.agent.waitConnected();
  const port = freePort();
  const svc = await m.createService({ name: "web", image: env.httpImage, env: [`PORT=${port}`] });
  await eventually(() => m.tasksOf(svc)[0]?.status.state === "running", "running", 30_000);
  const id = m.tasksOf(svc)[0].id;
  assert.equal((await fetchWhenUp(`http://127.0.0.1:${port}/`)).status, 200);
  const before = await rt1.inspect(id);
  assert.equal(before.state, "running");

  await n1.stop(); // SIGTERM without --drain-on-exit: containers stay
  await rt1.close();
  assert.equal(
    (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())).trim(),
    "warren-test-http version=v1 host=web.1",
  );

  // While the worker is down, a stray container of this node appears (e.g. left by a crash
  // between create and the state write): the next start removes it.
  const rt2 = env.newRuntime();
  await rt2.pull(env.exitImage);
  await rt2.prepare({
    taskId: "stray-1",
    image: env.exitImage,
    labels: { [Labels.nodeId]: "w1" },
  });
  const n2 = await env.startNode(rt2);
  assert.deepEqual(n2.worker.adopted, [id]);
  await n2.agent.waitConnected();
  const after = await rt2.inspect(id);
  assert.equal(after.pid, before.pid, "same process: not restarted");
  assert.deepEqual((await rt2.list()).map((c) => c.id), [id], "the stray container is gone");
  assert.equal(m.task(id)?.status.state, "running");
  assert.equal((await fetchWhenUp(`http://127.0.0.1:${port}/`)).status, 200);
  // The re-adopted task is still supervised: a desired shutdown stops it.
  await m.scale(svc, 0);
  await eventually(() => m.task(id)?.status.state === "shutdown", "shutdown", 20_000);
});

/**
 * A worker stopping because its node left the cluster (`cluster leave`) leaves nothing of its
 * tasks behind in containerd: no runc shim, no log driver, no rootfs mount, no container. A
 * containerd Warren started itself is stopped right after, and nothing would reap them then.
 * Needs root.
 */
import assert from "node:assert/strict";
import { eventually, workerEnv } from "./_worker_env.ts";

/** Command lines of the processes whose arguments mention one of `ids`, by ID. */
async function processesOf(ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const args = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    for (const id of ids) {
      if (!args.includes(id)) continue;
      out.set(id, [...out.get(id) ?? [], args.split("\0")[0]]);
    }
  }
  return out;
}

/** Mount points under `dir` whose path mentions one of `ids`. */
async function mountsOf(dir: string, ids: readonly string[]): Promise<string[]> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  return info.split("\n").map((line) => line.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(dir + "/") && ids.some((id) => p.includes(id)));
}

Deno.test("worker/containerd: leaving stops and removes every task's container, shim and log driver", async () => {
  await using env = await workerEnv();
  const { manager: m, ctd } = env;
  const rt = env.newRuntime();
  const node = await env.startNode(rt);
  await node.agent.waitConnected();
  const svc = await m.createService({
    name: "sleeper",
    image: env.exitImage,
    env: ["WARREN_SLEEP_MS=600000"],
    replicas: 3,
  });
  await eventually(
    () => m.tasksOf(svc).filter((t) => t.status.state === "running").length === 3,
    "three running",
    30_000,
  );
  const ids = m.tasksOf(svc).map((t) => t.id);
  // Each task has its shim and log driver (both name its ID) and its rootfs mounted: the
  // checks below look at the right things.
  const before = await processesOf(ids);
  for (const id of ids) {
    const names = before.get(id) ?? [];
    assert.ok(names.some((n) => n.endsWith("containerd-shim-runc-v2")), `shim of ${id}`);
    assert.ok(names.some((n) => n.endsWith("perl")), `log driver of ${id}: ${names}`);
  }
  assert.equal((await mountsOf(ctd.state, ids)).length, 3, "three rootfs mounts");

  // What the daemon does on `cluster leave`, before it stops its containerd.
  await node.stop({ drain: true, remove: true });

  const { containers } = await rt.client.containers.list({ filters: [] });
  assert.deepEqual(containers.map((c) => c.id), [], "no container left in the namespace");
  assert.deepEqual(await mountsOf(ctd.state, ids), [], "no rootfs mount left");
  // The log driver drains its pipes for up to a second after the task is deleted.
  await eventually(async () => (await processesOf(ids)).size === 0, "no shim or driver", 5_000)
    .catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify([...await processesOf(ids)])}`);
    });
  // The manager saw the tasks go down.
  for (const id of ids) assert.equal(m.task(id)?.status.state, "shutdown", id);
});

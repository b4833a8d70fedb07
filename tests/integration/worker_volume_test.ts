/**
 * `warren volume rm` deletes the data, end to end over real containerd, a real registry and an
 * in-process manager: after the service and then its volume are removed, the volume's directory
 * leaves the worker's data dir, and a new volume of the same name starts empty. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, freePort, workerEnv } from "./_worker_env.ts";

Deno.test("worker/containerd: volume rm deletes the data; a new volume of the same name starts empty", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const runtime = env.newRuntime();
  const node = await env.startNode(runtime);
  await node.agent.waitConnected();
  const mounts = [{ type: "volume" as const, source: "vtest", target: "/data" }];
  const running = (svc: string) => m.tasksOf(svc).find((t) => t.status.state === "running");
  const service = (name: string, script: string) =>
    m.createService({
      name,
      image: env.httpImage,
      command: ["/bin/sh", "-c", `${script}exec /bin/warren-http-server`],
      env: [`PORT=${freePort()}`],
      mounts,
      stopGracePeriodMs: 500,
    });
  const volumes = join(env.dataDir, "worker", "volumes");
  const entries = () => [...Deno.readDirSync(volumes)].map((e) => e.name);

  const vt = await service("vt", "echo olddata > /data/f; ");
  await eventually(() => !!running(vt), "vt running", 60_000);
  const cat = () => runtime.exec(running(vt)!.id, { cmd: ["cat", "/data/f"] });
  await eventually(async () => (await cat()).stdout === "olddata\n", "/data/f written", 10_000);
  assert.equal(entries().length, 1);

  await m.client.services.delete(vt);
  await m.client.volumes.delete("vtest");
  await eventually(() => entries().length === 0, "the volume's directory deleted", 30_000);

  const vt2 = await service("vt2", "");
  await eventually(() => !!running(vt2), "vt2 running", 60_000);
  const r = await runtime.exec(running(vt2)!.id, { cmd: ["cat", "/data/f"] });
  assert.notEqual(r.stdout, "olddata\n");
  assert.notEqual(r.exitCode, 0, "no /data/f in the new volume");
  assert.equal(entries().length, 1);
});

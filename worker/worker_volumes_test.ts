import assert from "node:assert/strict";
import { join } from "node:path";
import { type Volume, VolumeSchema } from "../proto/schema/mod.ts";
import { FakeRuntime } from "../runtime/fake.ts";
import { Worker } from "./worker.ts";
import { assignment, fakeImages, fakeRuntime, IMAGES, message, until } from "./_test_util.ts";
import { eventually, startTestManager, startTestWorkerNode } from "./_test_manager.ts";

const mounts = [{ type: "volume" as const, source: "vtest", target: "/data" }];

function vol(id: string): Volume {
  return VolumeSchema.parse({ id, name: "vtest", nodeId: "node1", createdAt: 1, updatedAt: 1 });
}

/** The one directory under `<dataDir>/volumes`. */
function onlyVolumeDir(dataDir: string): string {
  const entries = [...Deno.readDirSync(join(dataDir, "volumes"))];
  assert.equal(entries.length, 1, `one volume directory: ${entries.map((e) => e.name)}`);
  return join(dataDir, "volumes", entries[0].name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

Deno.test("worker: service rm, volume rm: the volume's directory goes; a new volume of that name starts empty", async () => {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-vol-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  const n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  const running = (svc: string) => m.tasksOf(svc).find((t) => t.status.state === "running");
  try {
    await n.agent.waitConnected(10_000);
    const vt = await m.createService({ name: "vt", image: IMAGES.web, mounts });
    await eventually(() => !!running(vt), "vt running");
    const old = (await m.client.volumes.inspect("vtest")).id;
    const oldDir = onlyVolumeDir(dir);
    await runtime.exec(running(vt)!.id, { cmd: ["tee", "/data/f"], stdin: "olddata" });
    await Deno.writeTextFile(join(oldDir, "on-disk"), "olddata");

    await m.client.services.delete(vt);
    await m.client.volumes.delete("vtest");
    await eventually(async () => !(await exists(oldDir)), "the volume's directory deleted");

    const vt2 = await m.createService({ name: "vt2", image: IMAGES.web, mounts });
    await eventually(() => !!running(vt2), "vt2 running");
    assert.notEqual((await m.client.volumes.inspect("vtest")).id, old, "a new volume");
    const cat = await runtime.exec(running(vt2)!.id, { cmd: ["cat", "/data/f"] });
    assert.notEqual(cat.stdout, "olddata");
    assert.equal(cat.exitCode, 1, "no /data/f in the new volume");
    assert.deepEqual(await n.worker.volumes.list(), ["vtest"]);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worker: a deleted volume's directory stays until its stopping task's container is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-vol-" });
  const { runtime, clock } = fakeRuntime();
  const w = await Worker.open({ nodeId: "node1", dataDir: dir, runtime, clock });
  try {
    // Ignores SIGTERM: its removal takes the whole grace period.
    const a = assignment({ image: IMAGES.stubborn, stopGracePeriodMs: 2_000, mounts }, {
      id: "db1",
    });
    w.applyAssignments(message([a], { volumes: [vol("v1")], volumesAuthoritative: true }));
    await until(() => w.runner("db1")?.status.state === "running", "running", clock);
    const volDir = onlyVolumeDir(dir);
    // Service and volume removed: the task goes away with its volume in the same message.
    w.applyAssignments(message([], { volumesAuthoritative: true }));
    await until(() => runtime.calls.get("stop") === 1, "stop", clock);
    await clock.advance(1_999);
    assert.equal((await runtime.inspect("db1")).state, "running");
    assert.ok(await exists(volDir), "kept while the container mounts it");
    await clock.advance(1);
    await w.settled();
    assert.equal(await exists(volDir), false, "deleted once the container is gone");
  } finally {
    await w.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worker: a complete message from an older manager (not authoritative) deletes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-vol-" });
  const { runtime, clock } = fakeRuntime();
  const w = await Worker.open({ nodeId: "node1", dataDir: dir, runtime, clock });
  try {
    w.applyAssignments(message([assignment({ mounts }, { id: "db1" })], { volumes: [vol("v1")] }));
    await until(() => w.runner("db1")?.status.state === "running", "running", clock);
    // Older managers send only the volumes the node's tasks mount: the service was removed, the
    // volume was not.
    w.applyAssignments(message([]));
    await w.settled();
    assert.deepEqual(await runtime.list(), []);
    assert.ok(await exists(onlyVolumeDir(dir)));
  } finally {
    await w.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { FailedPreconditionError, ValidationError } from "../proto/errors.ts";
import { type Volume, VolumeSchema } from "../proto/schema/mod.ts";
import { configureLogging } from "../proto/log.ts";
import { LocalVolumes } from "./volumes.ts";

configureLogging({ level: "error" });

Deno.test("volumes: created on first use under <dataDir>/volumes, data kept; binds checked; tmpfs passed on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-vol-" });
  try {
    const v = new LocalVolumes(dir);
    const [m] = await v.resolve([{
      type: "volume",
      source: "pgdata",
      target: "/var/lib/pg",
      readOnly: false,
    }]);
    assert.deepEqual(m, {
      source: join(dir, "volumes", "pgdata"),
      destination: "/var/lib/pg",
      readonly: false,
    });
    await Deno.writeTextFile(join(m.source, "row"), "1");
    await v.resolve([{ type: "volume", source: "pgdata", target: "/data", readOnly: true }]);
    assert.equal(await Deno.readTextFile(join(m.source, "row")), "1", "reuse keeps the data");
    const [b] = await v.resolve([{ type: "bind", source: dir, target: "/host", readOnly: true }]);
    assert.deepEqual(b, { source: dir, destination: "/host", readonly: true });
    await assert.rejects(
      v.resolve([{ type: "bind", source: join(dir, "missing"), target: "/x", readOnly: false }]),
      FailedPreconditionError,
    );
    assert.deepEqual(await v.resolve([{ type: "tmpfs", target: "/scratch", readOnly: false }]), [
      { type: "tmpfs", destination: "/scratch", readonly: false },
    ]);
    assert.throws(() => v.path("../etc"), ValidationError);
    assert.deepEqual(await v.list(), ["pgdata"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A volume record as the managers send it. */
function vol(id: string, name: string): Volume {
  return VolumeSchema.parse({ id, name, nodeId: "node1", createdAt: 1, updatedAt: 1 });
}

/** The volume part of an assignments message; complete and authoritative by default. */
function msg(
  volumes: Volume[],
  o: { complete?: boolean; removedVolumeIds?: string[]; volumesAuthoritative?: boolean } = {},
) {
  return {
    complete: o.complete ?? true,
    volumes,
    removedVolumeIds: o.removedVolumeIds ?? [],
    volumesAuthoritative: o.volumesAuthoritative ?? true,
  };
}

const data = [{ type: "volume" as const, source: "data", target: "/data", readOnly: false }];

/** The host directory `data` resolves to (for task `taskId`). */
async function source(v: LocalVolumes, taskId?: string): Promise<string> {
  const [m] = await v.resolve(data, taskId);
  assert.ok(m.type !== "tmpfs");
  return m.source;
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

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-vol-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("volumes: a deleted volume's directory is deleted; a new one of the same name starts empty", () =>
  withDir(async (dir) => {
    const v = new LocalVolumes(dir);
    v.apply(msg([vol("v1", "data")]));
    const m = await source(v, "t1");
    assert.equal(m, join(dir, "volumes", "data.v1"), "named by name and ID");
    await Deno.writeTextFile(join(m, "f"), "olddata");
    v.release("t1"); // the task and its container are gone
    v.apply(msg([], { complete: false, removedVolumeIds: ["v1"] })); // `warren volume rm data`
    await v.settled();
    assert.equal(await exists(m), false, "directory deleted");
    assert.deepEqual(await v.list(), []);
    v.apply(msg([vol("v2", "data")], { complete: false }));
    const m2 = await source(v, "t2");
    assert.deepEqual([...Deno.readDirSync(m2)], [], "the new volume starts empty");
  }));

Deno.test("volumes: removed while the node was away: the next complete message deletes the old data", () =>
  withDir(async (dir) => {
    const before = new LocalVolumes(dir);
    before.apply(msg([vol("v1", "data")]));
    const m = await source(before, "t1");
    await Deno.writeTextFile(join(m, "f"), "olddata");
    // A restarted worker; meanwhile `data` was removed and created again (v2).
    const v = new LocalVolumes(dir);
    v.apply(msg([vol("v2", "data")]));
    const m2 = await source(v, "t2");
    assert.equal(await exists(join(m2, "f")), false, "no old data in the new volume");
    await v.settled();
    assert.equal(await exists(m), false, "old directory deleted");
    assert.equal(await exists(m2), true);
  }));

Deno.test("volumes: a directory a task of the node may still mount is not deleted until released", () =>
  withDir(async (dir) => {
    const v = new LocalVolumes(dir);
    v.apply(msg([vol("v1", "data")]));
    const m = await source(v, "old"); // a task still stopping (e.g. its grace period)
    v.hold("readopted", data); // a re-adopted task: which directory it mounts is not known
    v.apply(msg([])); // v1 deleted
    await v.settled();
    assert.equal(await exists(m), true, "kept while in use");
    // A new volume of the same name meanwhile gets its own, empty directory.
    v.apply(msg([vol("v2", "data")], { complete: false }));
    const m2 = await source(v, "new");
    assert.notEqual(m2, m);
    v.release("old");
    await v.settled();
    assert.equal(await exists(m), true, "still possibly mounted by the re-adopted task");
    v.release("readopted");
    await v.settled();
    assert.equal(await exists(m), false, "deleted once no task may mount it");
    assert.equal(await exists(m2), true, "the live volume is kept though a task mounts it");
  }));

Deno.test("volumes: a partial view deletes nothing", () =>
  withDir(async (dir) => {
    const first = new LocalVolumes(dir);
    first.apply(msg([vol("v1", "data")]));
    const m = await source(first);
    // A restarted worker: deltas before any complete message are no proof of deletion.
    const v = new LocalVolumes(dir);
    v.apply(msg([], { complete: false, removedVolumeIds: ["v1"] }));
    await v.settled();
    assert.equal(await exists(m), true, "delta before a complete message");
    // A complete message from a manager that lists only the volumes the node's tasks mount.
    v.apply(msg([], { volumesAuthoritative: false }));
    v.apply(msg([], { complete: false, removedVolumeIds: ["v1"], volumesAuthoritative: false }));
    await v.settled();
    assert.equal(await exists(m), true, "non-authoritative complete message");
    // Offline, with no manager's word, the one directory of the name is the volume.
    assert.deepEqual(await v.resolve(data), [{
      source: m,
      destination: "/data",
      readonly: false,
    }]);
  }));

Deno.test("volumes: an older worker's <name> directory is adopted by the volume of that name; one of no volume is deleted", () =>
  withDir(async (dir) => {
    const root = join(dir, "volumes");
    await Deno.mkdir(join(root, "data"), { recursive: true });
    await Deno.writeTextFile(join(root, "data", "f"), "kept");
    await Deno.mkdir(join(root, "gone"));
    const v = new LocalVolumes(dir);
    v.hold("t1", data); // a re-adopted task of the older worker mounts data/
    v.apply(msg([vol("v1", "data")]));
    const m = await source(v);
    assert.equal(m, join(root, "data"), "in use: the data stays where the task has it");
    await v.settled();
    assert.equal(await exists(join(root, "gone")), false);
    v.release("t1");
    await v.settled();
    assert.equal(
      await Deno.readTextFile(join(root, "data.v1", "f")),
      "kept",
      "renamed to carry its ID",
    );
    assert.equal(await exists(join(root, "data")), false);
  }));

Deno.test("volumes: deleting never follows symlinks out of the volume", () =>
  withDir(async (dir) => {
    const outside = join(dir, "outside");
    await Deno.mkdir(outside);
    await Deno.writeTextFile(join(outside, "precious"), "x");
    const v = new LocalVolumes(dir);
    v.apply(msg([vol("v1", "data")]));
    const m = await source(v);
    // What a container could leave in its volume.
    await Deno.symlink(outside, join(m, "link"));
    await Deno.symlink(join(outside, "precious"), join(m, "file-link"));
    // A symlink among the volumes is not a volume.
    await Deno.symlink(outside, join(dir, "volumes", "evil.v9"));
    // Left over from a crash while deleting.
    await Deno.mkdir(join(dir, "volumes", ".deleting-old.v0.x"));
    v.apply(msg([]));
    await v.settled();
    assert.equal(await exists(m), false);
    assert.equal(await Deno.readTextFile(join(outside, "precious")), "x");
    assert.equal((await Deno.lstat(join(dir, "volumes", "evil.v9"))).isSymlink, true);
    assert.deepEqual([...Deno.readDirSync(join(dir, "volumes"))].map((e) => e.name), ["evil.v9"]);
  }));

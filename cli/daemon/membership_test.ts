import assert from "node:assert/strict";
import { join } from "node:path";
import { readIdentity, writeIdentity } from "../../manager/identity.ts";
import { forgetMembership } from "./membership.ts";

Deno.test("a worker that left forgets its membership; local volumes and containerd's data stay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-membership-" });
  try {
    await writeIdentity(dir, { nodeId: "w1", clusterId: "c1", role: "worker" });
    const files = [
      "tls/ca.pem",
      "tls/node.pem",
      "tls/node.key",
      "worker/worker.kv",
      "worker/logs/t1.log",
      "worker/tasks/t1/hosts",
      "worker/volumes/data/file",
      "containerd/state",
      "runtime/blob",
      "managers.json",
      "wireguard/private.key",
    ];
    for (const f of files) {
      await Deno.mkdir(join(dir, f, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, f), "x");
    }
    await forgetMembership(dir);
    assert.equal(await readIdentity(dir), undefined);
    const left = [];
    for (const f of files) {
      if (await Deno.stat(join(dir, f)).then(() => true, () => false)) left.push(f);
    }
    assert.deepEqual(left, ["worker/volumes/data/file", "containerd/state", "runtime/blob"]);
    await forgetMembership(dir); // nothing left to forget: no error
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a manager that left forgets its Raft log, cluster key and REST token too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-membership-" });
  try {
    await writeIdentity(dir, { nodeId: "m1", clusterId: "c1", role: "manager" });
    const files = [
      "raft.kv",
      "raft.kv-shm",
      "raft.kv-wal",
      "cluster.key",
      "rest.token",
      "tls/node.key",
      "managers.json",
      "worker/worker.kv",
      "worker/volumes/data/file",
      "containerd/state",
    ];
    for (const f of files) {
      await Deno.mkdir(join(dir, f, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, f), "x");
    }
    await forgetMembership(dir);
    assert.equal(await readIdentity(dir), undefined);
    const left = [];
    for (const f of files) {
      if (await Deno.stat(join(dir, f)).then(() => true, () => false)) left.push(f);
    }
    // Resumed on these, the manager would run outside the cluster on a frozen copy of its state.
    assert.deepEqual(left, ["worker/volumes/data/file", "containerd/state"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

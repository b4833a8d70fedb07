import assert from "node:assert/strict";
import { join } from "node:path";
import { readIdentity, writeIdentity } from "../../manager/identity.ts";
import { forgetMembership, managerRemoval, ManagerRemovedError } from "./membership.ts";
import { NotMemberError } from "../../proto/errors.ts";

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

/** Whether `p` is still pending once every queued callback has run. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const later = new Promise((r) => setTimeout(() => r(marker), 0));
  return (await Promise.race([p, later])) === marker;
}

Deno.test("a removed manager's daemon exits saying by whom, and what to run; not during a leave", async () => {
  const identity = { nodeId: "m3", clusterId: "c1" };
  const never = new Promise<never>(() => {});
  // A manager refusing its Raft connection.
  let err = await managerRemoval({
    identity,
    dataDir: "/var/lib/warren",
    raftRefusedBy: Promise.resolve("m1"),
    workerNotMember: never,
    leaveRequested: () => Promise.resolve(false),
  });
  assert.ok(err instanceof ManagerRemovedError);
  assert.equal(err.code, "failed_precondition");
  assert.equal(
    err.message,
    "this manager (node m3) was removed from cluster c1 (manager m1 refuses it as a member) " +
      "and stopped, with its tasks: run 'warren cluster leave --data-dir /var/lib/warren' to " +
      "clean up its data and this host, then 'warren join MANAGER_ADDR --token TOKEN' to join again",
  );
  // Its worker told it is not a member (a manager-only one has no worker).
  const answer = new NotMemberError("m3");
  err = await managerRemoval({
    identity,
    dataDir: "/d",
    raftRefusedBy: never,
    workerNotMember: Promise.resolve(answer),
    leaveRequested: () => Promise.resolve(false),
  });
  assert.match(err.message, /\(the managers told its worker it is not a member\)/);
  assert.equal(err.cause, answer);
  // No signal, no exit.
  assert.ok(
    await pending(
      managerRemoval({
        identity,
        dataDir: "/d",
        raftRefusedBy: never,
        leaveRequested: () => Promise.resolve(false),
      }),
    ),
  );
  // `cluster leave` asked for it: leave stops the daemon, which reports no failure.
  let asked = 0;
  const leaving = managerRemoval({
    identity,
    dataDir: "/d",
    raftRefusedBy: Promise.resolve("m1"),
    leaveRequested: () => Promise.resolve(++asked > 0),
  });
  assert.ok(await pending(leaving));
  assert.equal(asked, 1);
});

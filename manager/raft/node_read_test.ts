import assert from "node:assert/strict";
import { join } from "node:path";
import { Cluster, knowsLeader } from "./_node_cluster_test_util.ts";

Deno.test("raft node: a read whose leader is gone is asked again of the next leader", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-read-" });
  const kv = await Deno.openKv(join(dir, "c.kv"));
  // Reads would wait this long for an answer that never comes: far longer than the test takes.
  const c = new Cluster(kv, { tickMs: 5, requestTimeoutMs: 5_000 });
  try {
    await c.init();
    for (const id of c.ids) await c.start(id);
    for (const n of c.nodes.values()) await knowsLeader(n);
    const leader = [...c.nodes.values()].find((n) => n.leader.isLeader)!;
    const follower = [...c.nodes.values()].find((n) => !n.leader.isLeader)!;
    // The follower's request to confirm the read is lost, then its leader goes away.
    let lost!: () => void;
    const wasLost = new Promise<void>((r) => (lost = r));
    c.drop = (from, m) => {
      if (from !== follower.id || m.type !== "MsgReadIndex") return false;
      lost();
      return true;
    };
    const read = follower.read();
    await wasLost;
    c.drop = () => false;
    await leader.stop();
    c.nodes.delete(leader.id);
    await read;
    assert.notEqual(follower.leader.leaderId, leader.id);
  } finally {
    await c.stop().catch(() => {});
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

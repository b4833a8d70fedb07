import assert from "node:assert/strict";
import { withLeaderAndFollower } from "./_node_cluster_test_util.ts";

Deno.test("raft node: a read whose leader is gone is asked again of the next leader", async () => {
  // Reads would wait this long for an answer that never comes: far longer than the test takes.
  await withLeaderAndFollower(
    { tickMs: 5, requestTimeoutMs: 5_000 },
    async (c, leader, follower) => {
      // The follower's request to confirm the read is lost, then its leader goes away.
      const lost = c.loseNext(follower.id, "MsgReadIndex");
      const read = follower.read();
      await lost;
      await c.crash(leader);
      await read;
      assert.notEqual(follower.leader.leaderId, leader.id);
    },
  );
});

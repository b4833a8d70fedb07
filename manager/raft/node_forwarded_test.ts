import assert from "node:assert/strict";
import { DeadlineExceededError } from "../../proto/errors.ts";
import { withLeaderAndFollower } from "./_node_cluster_test_util.ts";

Deno.test("raft node: a proposal forwarded to a leader that is gone fails as unknown once the next leader is known, not at its timeout", async () => {
  // The proposal would wait this long for a commit that never comes: far longer than the test.
  await withLeaderAndFollower(
    { tickMs: 5, requestTimeoutMs: 60_000 },
    async (c, leader, follower) => {
      const term = follower.leader.term;
      // The follower's forwarded proposal dies with its leader (a crash before it was appended).
      const lost = c.loseNext(follower.id, "MsgProp");
      const outcome = follower.propose(new TextEncoder().encode("x"))
        .then(() => "applied", (err) => err);
      await lost;
      await c.crash(leader);
      const err = await outcome;
      assert.ok(err instanceof DeadlineExceededError, String(err));
      assert.match(err.message, /leader changed .* outcome is unknown/);
      assert.ok(err.retryable);
      assert.ok(follower.leader.term > term);
    },
  );
});

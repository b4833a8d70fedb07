import assert from "node:assert/strict";
import { join } from "node:path";
import { DeadlineExceededError } from "../../proto/errors.ts";
import { Cluster, knowsLeader } from "./_node_cluster_test_util.ts";

Deno.test("raft node: a proposal forwarded to a leader that is gone fails as unknown once the next leader is known, not at its timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-forwarded-" });
  const kv = await Deno.openKv(join(dir, "c.kv"));
  // The proposal would wait this long for a commit that never comes: far longer than the test.
  const c = new Cluster(kv, { tickMs: 5, requestTimeoutMs: 60_000 });
  try {
    await c.init();
    for (const id of c.ids) await c.start(id);
    for (const n of c.nodes.values()) await knowsLeader(n);
    const leader = [...c.nodes.values()].find((n) => n.leader.isLeader)!;
    const follower = [...c.nodes.values()].find((n) => !n.leader.isLeader)!;
    const term = follower.leader.term;
    // The follower's forwarded proposal dies with its leader (a crash before it was appended).
    let lost!: () => void;
    const wasLost = new Promise<void>((r) => (lost = r));
    c.drop = (from, m) => {
      if (from !== follower.id || m.type !== "MsgProp") return false;
      lost();
      return true;
    };
    const proposal = follower.propose(new TextEncoder().encode("x"));
    const outcome = proposal.then(() => "applied", (err) => err);
    await wasLost;
    c.drop = () => false;
    await leader.stop();
    c.nodes.delete(leader.id);
    const err = await outcome;
    assert.ok(err instanceof DeadlineExceededError, String(err));
    assert.match(err.message, /leader changed .* outcome is unknown/);
    assert.ok(err.retryable);
    assert.ok(follower.leader.term > term);
  } finally {
    await c.stop().catch(() => {});
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

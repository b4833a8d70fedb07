import assert from "node:assert/strict";
import { ClusterKeys, NODE_CERT_LIFETIME_MS } from "../cluster_keys.ts";
import { node } from "../state/_fixtures_test_util.ts";
import { emptyState } from "../state/fsm_state.ts";
import type { ApiContext } from "./context.ts";
import { LeaderChannel } from "./_leader_channel.ts";

Deno.test("LeaderChannel: a follower's certificate is issued again after half its lifetime", async () => {
  let now = Date.now();
  const { keys } = await ClusterKeys.create("c1", now);
  let issued = 0;
  const counting = Object.create(keys, {
    issue: { value: (o: Parameters<ClusterKeys["issue"]>[0]) => (issued++, keys.issue(o)) },
  }) as ClusterKeys;
  const state = emptyState();
  const leader = {
    ...node("m1"),
    role: "manager" as const,
    addresses: { advertise: "127.0.0.1", api: "127.0.0.1:1", raft: "127.0.0.1:2" },
  };
  state.nodes.set(leader.id, leader);
  const ctx = {
    nodeId: "m2",
    now: () => now,
    keys: () => Promise.resolve(counting),
    store: { state },
    raft: { leader: { leaderId: "m1", isLeader: false } },
  } as unknown as ApiContext;
  const channel = new LeaderChannel(ctx, { secure: true });
  try {
    const first = await channel.client();
    assert.equal(await channel.client(), first, "the channel is kept");
    now += NODE_CERT_LIFETIME_MS / 2 - 1;
    assert.equal(await channel.client(), first);
    assert.equal(issued, 1);
    now += 2;
    const renewed = await channel.client();
    assert.notEqual(renewed, first, "a new channel with the new certificate");
    assert.equal(issued, 2);
  } finally {
    channel.close();
  }
});

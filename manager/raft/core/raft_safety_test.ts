/**
 * Randomized safety check over the in-memory cluster: random ticks, proposals, message loss,
 * reordering, partitions, compactions and restarts, driven by a seed. After every step: at most
 * one leader per term (§5.2 election safety) and every node applies the same entry at each index
 * (§5.4.3 state machine safety). A failure names the seed that replays it.
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "./memory_storage.ts";
import { type Rand, xoshiro128 } from "./prng.ts";
import { Env, EnvNode } from "./transcript/env.ts";

const IDS = ["1", "2", "3", "4", "5"];

function cluster(seed: number): Env {
  const env = new Env();
  for (const id of IDS) {
    const s = new MemoryStorage();
    s.applySnapshot({
      meta: { index: 1, term: 1, confState: { voters: IDS, learners: [] } },
      data: new Uint8Array(),
    });
    env.addNode({
      id,
      electionTicks: 5,
      snapshotChunkBytes: 16,
      maxSizePerMsgBytes: 64,
      rand: xoshiro128(seed * 31 + Number(id)),
    }, s);
  }
  return env;
}

function pick<T>(rand: Rand, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

const stats = { leaders: 0, committed: 0 };

function runSeed(seed: number, steps: number): void {
  const rand = xoshiro128(seed);
  const env = cluster(seed);
  const leaders = new Map<number, string>();
  const applied = new Map<number, string>();
  let proposals = 0;
  for (let step = 0; step < steps; step++) {
    const r = rand();
    const id = pick(rand, IDS);
    const node = env.node(id);
    if (r < 0.1) node.core.tick();
    else if (r < 0.2) {
      try {
        node.core.propose(new TextEncoder().encode(`p${proposals++}`));
      } catch { /* dropped: no leader */ }
    } else if (r < 0.55) env.processReady(id);
    else if (r < 0.93) {
      // Deliver what one node has in flight (others wait: reordering), losing a few messages.
      const to = pick(rand, IDS);
      env.inFlight = env.inFlight.filter((m) => m.to !== to || rand() > 0.05);
      env.deliver(to);
    } else if (r < 0.96) {
      if (env.partition.size) env.partition.clear();
      else for (const n of IDS) env.partition.set(n, rand() < 0.5 ? 0 : 1);
    } else if (r < 0.98) {
      if (node.appliedIndex > node.storage.firstIndex()) {
        const at = node.appliedIndex;
        node.storage.createSnapshot(at, node.confStateAt(at), node.snapshotData(at));
        node.storage.compact(at);
      }
    } else {
      // Crash and restart: unpersisted state and in-flight Readies are lost.
      env.nodes.set(id, new EnvNode(node.config, node.storage));
    }
    env.takeOutput();
    for (const n of env.nodes.values()) {
      const s = n.core.status();
      if (s.role === "leader") {
        const prev = leaders.get(s.term);
        assert.ok(
          prev === undefined || prev === n.id,
          `seed ${seed} step ${step}: two leaders in term ${s.term}`,
        );
        leaders.set(s.term, n.id);
      }
      for (const [index, data] of n.app.applied) {
        const prev = applied.get(index);
        assert.ok(
          prev === undefined || prev === data,
          `seed ${seed} step ${step}: index ${index} applied as ${prev} and ${data}`,
        );
        applied.set(index, data);
      }
    }
  }
  // Heal and let the cluster converge: everyone applies the same log, and progress was made.
  env.partition.clear();
  for (let round = 0; round < 200; round++) {
    for (const id of IDS) env.node(id).core.tick();
    env.stabilize();
    env.takeOutput();
  }
  const logs = IDS.map((id) => JSON.stringify(env.node(id).app.applied));
  assert.ok(
    logs.every((l) => l === logs[0]),
    `seed ${seed}: logs differ after healing: ${
      JSON.stringify(
        IDS.map((
          id,
        ) => [
          env.node(id).core.status(),
          env.node(id).appliedIndex,
          env.node(id).app.applied.length,
        ]),
      )
    }`,
  );

  stats.leaders += leaders.size;
  stats.committed += applied.size;
  const roles = IDS.map((id) => env.node(id).core.status());
  const leaderIds = roles.filter((s) => s.role === "leader").map((s) => s.id);
  assert.equal(
    leaderIds.length,
    1,
    `seed ${seed}: ${JSON.stringify(roles.map((s) => [s.role, s.term]))}`,
  );
  // Liveness once healed: a new proposal commits everywhere.
  env.node(leaderIds[0]).core.propose(new TextEncoder().encode("final"));
  env.stabilize();
  env.takeOutput();
  for (const id of IDS) {
    assert.equal(
      env.node(id).app.applied.at(-1)?.[1],
      "final",
      `seed ${seed}: node ${id} missed the final entry`,
    );
  }
}

Deno.test("randomized cluster keeps election safety and state machine safety", () => {
  for (let seed = 1; seed <= 25; seed++) runSeed(seed, 3000);
  // The workload must exercise the protocol, not idle: many terms and commits across seeds.
  assert.ok(stats.leaders > 25 && stats.committed > 25 * 10, JSON.stringify(stats));
});

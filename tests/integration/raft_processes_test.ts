/**
 * Raft with real processes: three members (tests/raft_member/main.ts), each its own OS process
 * with a Deno KV data dir, talking gRPC on loopback. Kills are `kill -9`; every write the
 * cluster acknowledged must survive them with its latest value.
 */
import assert from "node:assert/strict";
import { pollUntil, ProcessCluster } from "../raft_member/cluster.ts";
import { LeaderClient } from "../raft_member/leader_client.ts";
import type { MemberClient } from "../raft_member/client.ts";

/** Writes `k<i % keys> = v<i>` one at a time to the leader until stopped, recording every ack. */
class Writer {
  /** Latest acknowledged value per key. */
  readonly acked = new Map<string, string>();
  /** Every acknowledged write in order, with the member that acknowledged it. */
  readonly log: { k: string; v: string; via: string; atMs: number }[] = [];
  #stop = false;
  readonly done: Promise<void>;

  constructor(client: LeaderClient, keys: number) {
    this.done = (async () => {
      for (let i = 0; !this.#stop; i++) {
        const k = `k${i % keys}`;
        const v = `v${i}`;
        // Retries the same value until acknowledged: an unanswered attempt may still apply,
        // and repeating the value keeps "latest acknowledged value" well defined per key.
        const r = await client.put(k, v, 15_000);
        if (!r.ok) {
          throw new Error(`write ${k}=${v} not acknowledged: ${JSON.stringify(r.last)}`);
        }
        this.acked.set(k, v);
        this.log.push({ k, v, via: r.via, atMs: performance.now() });
      }
    })();
  }

  /** Stops after the write in progress and waits for it. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.done;
  }
}

/** Linearizable reads of every key on `client`, retried while the member finds its leader. */
async function readAll(
  client: MemberClient,
  keys: Iterable<string>,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const k of keys) {
    const v = await pollUntil(
      async () => {
        const r = await client.get(k);
        return r.ok ? r.value.v : undefined;
      },
      `a linearizable read of ${k} on ${client.baseUrl}`,
      { timeoutMs: 15_000 },
    );
    out.set(k, v);
  }
  return out;
}

Deno.test("raft processes: kill -9 of the leader and of the whole cluster loses no acked write", async () => {
  await using cluster = await ProcessCluster.create(["m1", "m2", "m3"], { tickMs: 50 });
  await cluster.form();
  const first = await cluster.leader();
  assert.deepEqual(first.voters, ["m1", "m2", "m3"]);

  // A follower forwards a proposal to the leader and answers once it applied it.
  const follower = [...cluster.running.values()].find((m) => m.spec.id !== first.id)!;
  const fw = await follower.client.put("via-follower", "yes", { forward: true });
  assert.ok(fw.ok, `put through follower ${follower.spec.id}: ${JSON.stringify(fw)}`);
  const refused = await follower.client.put("refused", "x");
  assert.ok(!refused.ok && refused.code === "not_leader" && refused.leader === first.id);

  const members = () =>
    new Map<string, MemberClient>([...cluster.running].map(([id, m]) => [id, m.client]));
  const writer = new Writer(new LeaderClient({ members }), 16);
  try {
    await pollUntil(() => writer.log.length >= 30 || undefined, "30 writes before the kill");

    // kill -9 of the leader while the writer keeps going.
    const killedAtMs = performance.now();
    const ackedBeforeKill = writer.log.length;
    await cluster.kill(first.id);
    const second = await cluster.leader({ excluding: first.id, timeoutMs: 15_000 });
    assert.notEqual(second.id, first.id);
    await pollUntil(
      () =>
        writer.log.filter((w) => w.atMs > killedAtMs && w.via === second.id).length >= 30 ||
        undefined,
      `30 writes acknowledged by the new leader ${second.id}`,
      { timeoutMs: 20_000 },
    );
    assert.ok(writer.log.length >= ackedBeforeKill + 30);
  } finally {
    await writer.stop();
  }
  const expected = new Map(writer.acked);
  expected.set("via-follower", "yes");

  // The killed member restarts from its data dir and catches up.
  const restarted = await cluster.start(first.id);
  assert.deepEqual(await readAll(restarted.client, expected.keys()), expected);

  // kill -9 of all three, then restart all three: every acknowledged write is there.
  for (const id of [...cluster.running.keys()]) await cluster.kill(id);
  for (const id of ["m1", "m2", "m3"]) await cluster.start(id);
  await cluster.leader({ timeoutMs: 15_000 });
  for (const m of cluster.running.values()) {
    assert.deepEqual(
      await readAll(m.client, expected.keys()),
      expected,
      `values read on ${m.spec.id} after restarting all members`,
    );
  }
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { RaftNode, type RaftNodeOptions } from "./node.ts";
import { KvStorage } from "./kv_storage.ts";
import { KvStateMachine, put } from "./_kv_sm_test_util.ts";
import { startTlsRaftServer, TlsRaftTransport } from "../../net/raft/tls_transport.ts";
import { UnavailableError } from "../../proto/errors.ts";
import { ProposalDroppedError } from "./core/errors.ts";

/** One manager's Raft stack in this process: KV storage in `dir`, gRPC on a loopback port. */
class Member {
  node!: RaftNode;
  sm = new KvStateMachine();
  kv!: Deno.Kv;
  storage!: KvStorage;
  server!: Awaited<ReturnType<typeof startTlsRaftServer>>;
  transport!: TlsRaftTransport;
  constructor(readonly id: string, readonly dir: string, public port = 0) {}

  async start(
    opts: {
      bootstrap?: boolean;
      peers?: Record<string, string>;
      core?: RaftNodeOptions["core"];
    } = {},
  ) {
    this.kv = await Deno.openKv(join(this.dir, `${this.id}.kv`));
    const storage = this.storage = await KvStorage.open(this.kv);
    this.sm = new KvStateMachine();
    const ref: { node?: RaftNode } = {};
    this.server = await startTlsRaftServer({
      address: `127.0.0.1:${this.port}`,
      clusterId: "c1",
      selfId: this.id,
      onMessages: (from, msgs) => ref.node?.receive(msgs, from),
    });
    this.port = this.server.port;
    this.transport = new TlsRaftTransport({
      clusterId: "c1",
      selfId: this.id,
      onUnreachable: (peer) => ref.node?.reportUnreachable(peer),
    });
    if (opts.bootstrap) {
      await RaftNode.bootstrap(storage, {
        id: this.id,
        address: this.address,
        stateMachine: this.sm,
      });
    }
    const node = ref.node = new RaftNode({
      id: this.id,
      address: this.address,
      storage,
      transport: this.transport,
      stateMachine: this.sm,
      peers: opts.peers,
      tickMs: 10,
      snapshotEveryEntries: 50,
      keepEntriesAfterSnapshot: 10,
      requestTimeoutMs: 5000,
      core: opts.core,
    });
    this.node = node;
    node.start();
  }

  get address() {
    return `127.0.0.1:${this.port}`;
  }

  async stop() {
    await this.node.stop();
    this.transport.close();
    await this.server.close();
    this.kv.close();
  }
}

/** Resolves once `cond()` holds, re-checking on each leader change or every few ms. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Proposes through `m`, retrying while leadership settles. */
async function proposeRetry(members: Member[], cmd: Uint8Array): Promise<unknown> {
  for (let attempt = 0;; attempt++) {
    const m = members.find((x) => x.node.leader.isLeader) ?? members[0];
    try {
      return await m.node.propose(cmd);
    } catch (err) {
      if (!(err instanceof UnavailableError) || attempt > 200) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * Adds `m` as a learner and promotes it once caught up, through whichever member leads: with
 * 10 ms ticks a loaded machine can move leadership between two voters mid-test.
 */
async function grow(members: Member[], m: Member): Promise<void> {
  await m.start({ peers: { m1: members[0].address } });
  const onLeader = async (f: (leader: Member) => Promise<unknown>) => {
    for (let attempt = 0;; attempt++) {
      await until(() => members.some((x) => x.node?.leader.isLeader), "a leader");
      try {
        return await f(members.find((x) => x.node?.leader.isLeader)!);
      } catch (err) {
        if (!(err instanceof ProposalDroppedError) || attempt > 20) throw err;
      }
    }
  };
  await onLeader((l) => l.node.addLearner(m.id, m.address));
  await until(
    () => m.node.appliedIndex >= Math.max(...members.map((x) => x.node?.appliedIndex ?? 0)) - 1,
    `${m.id} to catch up`,
  );
  await onLeader((l) => l.node.promote(m.id));
}

Deno.test("raft node: a bootstrapped single node commits, snapshots, and survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-node-" });
  const m = new Member("m1", dir);
  try {
    await m.start({ bootstrap: true });
    await until(() => m.node.leader.isLeader, "m1 to lead");
    for (let i = 0; i < 120; i++) {
      assert.equal(await m.node.propose(put(`k${i % 7}`, `v${i}`)), i >= 7 ? `v${i - 7}` : null);
    }
    await m.node.read();
    assert.equal(m.sm.data.get("k0"), "v119");
    assert.ok(m.node.status().firstIndex > 1, "the log was compacted after snapshots");
    await m.stop();

    await m.start();
    await until(() => m.node.leader.isLeader, "m1 to lead again");
    await m.node.read();
    assert.equal(m.sm.data.get("k0"), "v119");
    assert.equal(m.sm.data.get("k6"), "v118");
    assert.equal(m.sm.data.size, 7);
    await assert.rejects(
      () => RaftNode.bootstrap(m.storage, { id: "m1", address: "x", stateMachine: m.sm }),
      /initialized already/,
    );
  } finally {
    await m.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft node: three managers over gRPC grow, replicate, fail over and catch up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-3-" });
  const ms = [new Member("m1", dir), new Member("m2", dir), new Member("m3", dir)];
  try {
    await ms[0].start({ bootstrap: true });
    await until(() => ms[0].node.leader.isLeader, "m1 to lead");
    for (let i = 0; i < 60; i++) await ms[0].node.propose(put(`k${i}`, `v${i}`));
    // Grow: join as learner (snapshot transfer: the log was compacted), then promote.
    for (const m of ms.slice(1)) await grow(ms, m);
    assert.deepEqual(ms[0].node.status().config.voters.sort(), ["m1", "m2", "m3"]);
    // A follower's proposal is forwarded to the leader and resolves on the follower.
    assert.equal(await ms[2].node.propose(put("k1", "from-m3")), "v1");
    await ms[1].node.read();
    assert.equal(ms[1].sm.data.get("k1"), "from-m3");

    // Fail over: stop the leader; the other two elect a new one and keep committing.
    await ms[0].stop();
    const rest = ms.slice(1);
    await until(() => rest.some((m) => m.node.leader.isLeader), "a new leader");
    for (let i = 0; i < 20; i++) await proposeRetry(rest, put(`after${i}`, `x${i}`));
    // The old leader restarts from its disk and catches up.
    await ms[0].start();
    await until(() => ms[0].sm.data.get("after19") === "x19", "m1 to catch up");
    assert.equal(ms[0].sm.data.get("k59"), "v59");
  } finally {
    for (const m of ms) await m.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft node: concurrent proposals are batched; each caller gets its own result", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-batch-" });
  const ms = [new Member("m1", dir), new Member("m2", dir), new Member("m3", dir)];
  try {
    await ms[0].start({ bootstrap: true });
    await until(() => ms[0].node.leader.isLeader, "m1 to lead");
    for (const m of ms.slice(1)) await grow(ms, m);
    const leader = ms[0];
    const before = leader.transport.stats();
    const n = 200;
    // One key written by every proposal: each result (the previous value) shows the order.
    const results = await Promise.allSettled(
      Array.from(
        { length: n },
        (_, i) => leader.node.propose(i === 57 ? enc.encode("not json") : put("k", `v${i}`)),
      ),
    );
    for (let i = 0; i < n; i++) {
      const r = results[i];
      if (i === 57) {
        // The state machine refused this one command; its neighbours in the batch applied.
        assert.equal(r.status, "rejected");
        assert.ok(r.reason instanceof SyntaxError);
        continue;
      }
      const prev = i === 0 ? null : `v${i === 58 ? 56 : i - 1}`;
      assert.deepEqual(r, { status: "fulfilled", value: prev }, `proposal ${i}`);
    }
    // Proposed together, they travel together: a handful of MsgApp per follower, not one each.
    const after = leader.transport.stats();
    for (const id of ["m2", "m3"]) {
      const msgs = after[id].sentMsgs + after[id].droppedMsgs - before[id].sentMsgs -
        before[id].droppedMsgs;
      assert.ok(msgs < n / 10, `${msgs} messages to ${id} for ${n} proposals: not batched`);
    }
    await ms[1].node.read();
    assert.equal(ms[1].sm.data.get("k"), `v${n - 1}`);
  } finally {
    for (const m of ms) await m.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft node: a batch the core refuses fails each of its callers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-nolead-" });
  const kv = await Deno.openKv(join(dir, "a.kv"));
  try {
    // A member of a three-voter cluster whose peers never start: no leader is ever known.
    const storage = await KvStorage.open(kv);
    await storage.applySnapshot({
      meta: { index: 1, term: 1, confState: { voters: ["a", "b", "c"], learners: [] } },
      data: new Uint8Array(),
    });
    const sent: string[] = [];
    const node = new RaftNode({
      id: "a",
      address: "127.0.0.1:1",
      storage,
      transport: { send: (to) => sent.push(to), setPeer: () => {}, removePeer: () => {} },
      stateMachine: new KvStateMachine(),
      tickMs: 1000,
    });
    node.start();
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => node.propose(put("k", `v${i}`))),
      );
      for (const r of results) {
        assert.equal(r.status, "rejected");
        assert.equal((r.reason as { code?: string }).code, "unavailable");
      }
      assert.deepEqual(sent, [], "nothing of a refused batch was replicated");
    } finally {
      await node.stop();
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft node: proposals past the queue bound are refused at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-queue-" });
  const kv = await Deno.openKv(join(dir, "a.kv"));
  try {
    const storage = await KvStorage.open(kv);
    await RaftNode.bootstrap(storage, {
      id: "a",
      address: "x",
      stateMachine: new KvStateMachine(),
    });
    const node = new RaftNode({
      id: "a",
      address: "x",
      storage,
      transport: { send: () => {}, setPeer: () => {}, removePeer: () => {} },
      stateMachine: new KvStateMachine(),
      tickMs: 5,
      maxQueuedProposals: 3,
    });
    node.start();
    await until(() => node.leader.isLeader, "a to lead");
    try {
      // Four proposals in one synchronous burst: the loop has not run, the fourth is refused.
      const ps = Array.from({ length: 4 }, (_, i) => node.propose(put("k", `v${i}`)));
      await assert.rejects(ps[3], { code: "resource_exhausted" });
      assert.deepEqual(await Promise.all(ps.slice(0, 3)), [null, "v0", "v1"]);
    } finally {
      await node.stop();
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const enc = new TextEncoder();

Deno.test("raft node: after a restart, entries proposed before it do not answer new proposals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-node-" });
  const m = new Member("m1", dir);
  try {
    await m.start({ bootstrap: true });
    await until(() => m.node.leader.isLeader, "m1 to lead");
    for (let i = 1; i <= 5; i++) await m.node.propose(put("old", `v${i}`));
    await m.stop();
    // A crash may lose the commit index (it is written with the next entries, see node.ts): the
    // restarted node then applies its previous life's entries again once it leads.
    const kv = await Deno.openKv(join(dir, "m1.kv"));
    const storage = await KvStorage.open(kv);
    const hs = storage.initialState().hardState;
    await storage.setHardState({ ...hs, commit: storage.snapshot().meta.index });
    kv.close();

    // Applied one entry per Ready, the old entries are still being applied once it leads.
    await m.start({ core: { maxCommittedSizePerReadyBytes: 1 } });
    const answers = await new Promise<Promise<unknown>[]>((resolve) => {
      const off = m.node.onLeaderChange((l) => {
        if (!l.isLeader) return;
        off();
        resolve([1, 2, 3].map((i) => m.node.propose(put("new", `n${i}`))));
      });
    });
    assert.deepEqual(await Promise.all(answers), [null, "n1", "n2"]);
    assert.equal(m.sm.data.get("old"), "v5");
    assert.equal(m.sm.data.get("new"), "n3");
  } finally {
    await m.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Three real Raft nodes (Deno KV storage, manager/raft/node.ts) talking over the framed
 * transport with mutual TLS: grow from one, replicate, fail over, and catch up after a restart.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTlsRaftServer, type TlsRaftServer, TlsRaftTransport } from "./tls_transport.ts";
import { TlsIdentity } from "../grpc/tls.ts";
import { RaftNode } from "../../manager/raft/node.ts";
import { KvStorage } from "../../manager/raft/kv_storage.ts";
import { KvStateMachine, put } from "../../manager/raft/_kv_sm_test_util.ts";
import { createRootCa, type RootCa } from "../../manager/security/ca.ts";
import { issueTestCert } from "../../manager/security/_certs_test_util.ts";
import { UnavailableError } from "../../proto/errors.ts";

async function managerIdentity(ca: RootCa, nodeId: string): Promise<TlsIdentity> {
  return new TlsIdentity(await issueTestCert(ca, nodeId, "manager", { sans: [] }));
}

/** One manager's Raft stack in this process over the TLS transport. */
class Member {
  node!: RaftNode;
  sm = new KvStateMachine();
  kv!: Deno.Kv;
  server!: TlsRaftServer;
  transport!: TlsRaftTransport;
  constructor(
    readonly id: string,
    readonly dir: string,
    readonly identity: TlsIdentity,
    public port = 0,
  ) {}

  async start(opts: { bootstrap?: boolean; peers?: Record<string, string> } = {}) {
    this.kv = await Deno.openKv(join(this.dir, `${this.id}.kv`));
    const storage = await KvStorage.open(this.kv);
    this.sm = new KvStateMachine();
    const ref: { node?: RaftNode } = {};
    this.server = await startTlsRaftServer({
      address: `127.0.0.1:${this.port}`,
      identity: this.identity,
      clusterId: "c1",
      selfId: this.id,
      onMessages: (_from, msgs) => ref.node?.receive(msgs),
    });
    this.port = this.server.port;
    this.transport = new TlsRaftTransport({
      clusterId: "c1",
      selfId: this.id,
      identity: this.identity,
      onUnreachable: (peer) => ref.node?.reportUnreachable(peer),
    });
    if (opts.bootstrap) {
      await RaftNode.bootstrap(storage, {
        id: this.id,
        address: this.address,
        stateMachine: this.sm,
      });
    }
    this.node = ref.node = new RaftNode({
      id: this.id,
      address: this.address,
      storage,
      transport: this.transport,
      stateMachine: this.sm,
      peers: opts.peers,
      // 150-300 ms election timeouts: with 10 ms ticks (60-120 ms), a busy CI machine's stall
      // made a follower campaign mid-test, and a forwarded proposal failed as "leader changed".
      tickMs: 25,
      snapshotEveryEntries: 50,
      keepEntriesAfterSnapshot: 10,
      requestTimeoutMs: 5000,
    });
    this.node.start();
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

async function until(cond: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

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

Deno.test("tls raft: three managers over mutual TLS grow, replicate, fail over and catch up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-tls-" });
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now: Date.now() });
  const ms = await Promise.all(
    ["m1", "m2", "m3"].map(async (id) => new Member(id, dir, await managerIdentity(ca, id))),
  );
  try {
    await ms[0].start({ bootstrap: true });
    await until(() => ms[0].node.leader.isLeader, "m1 to lead");
    for (let i = 0; i < 60; i++) await ms[0].node.propose(put(`k${i}`, `v${i}`));
    // Grow: join as learner (snapshot transfer: the log was compacted), then promote.
    for (const m of ms.slice(1)) {
      await m.start({ peers: { m1: ms[0].address } });
      await ms[0].node.addLearner(m.id, m.address);
      await until(() => m.node.appliedIndex >= ms[0].node.appliedIndex - 1, `${m.id} to catch up`);
      await ms[0].node.promote(m.id);
    }
    assert.deepEqual(ms[0].node.status().config.voters.sort(), ["m1", "m2", "m3"]);
    // Concurrent proposals: each caller gets its own result.
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ms[0].node.propose(put(`c${i}`, `x${i}`))),
    );
    assert.deepEqual(results, Array(200).fill(null));
    // A follower's proposal is forwarded to the leader and resolves on the follower.
    assert.equal(await ms[2].node.propose(put("k1", "from-m3")), "v1");
    await ms[1].node.read();
    assert.equal(ms[1].sm.data.get("k1"), "from-m3");
    assert.equal(ms[1].sm.data.get("c199"), "x199");

    // Fail over: stop the leader; the other two elect a new one and keep committing.
    await ms[0].stop();
    const rest = ms.slice(1);
    await until(() => rest.some((m) => m.node.leader.isLeader), "a new leader");
    for (let i = 0; i < 20; i++) await proposeRetry(rest, put(`after${i}`, `x${i}`));
    // The old leader restarts from its disk (same port) and catches up.
    await ms[0].start();
    await until(() => ms[0].sm.data.get("after19") === "x19", "m1 to catch up");
    assert.equal(ms[0].sm.data.get("k59"), "v59");
    for (const m of ms) {
      const st = m.transport.stats();
      for (const s of Object.values(st)) {
        assert.ok(s.sentBatches <= s.sentMsgs, "batches never outnumber messages");
      }
    }
  } finally {
    for (const m of ms) await m.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

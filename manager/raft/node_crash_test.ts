import assert from "node:assert/strict";
import { join } from "node:path";
import { type PersistentStorage, RaftNode } from "./node.ts";
import { KvStorage } from "./kv_storage.ts";
import { KvStateMachine, put } from "./_kv_sm_test_util.ts";
import { Cluster, knowsLeader, noTransport } from "./_node_cluster_test_util.ts";
import { ProposalDroppedError } from "./core/errors.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./core/types.ts";

/**
 * A {@link KvStorage} that "dies" when told to, or right after it records a snapshot: every later
 * write fails before reaching the disk (the node stops, acknowledging nothing more), so
 * reopening the KV file shows what a kill -9 at that moment leaves.
 */
class CrashingStorage implements PersistentStorage {
  #dead = false;
  #died!: () => void;
  /** Resolves once the "process" is dead. */
  readonly died = new Promise<void>((r) => (this.#died = r));
  get dead(): boolean {
    return this.#dead;
  }
  constructor(readonly inner: KvStorage, readonly opts: { killAfterSnapshot: boolean }) {}
  kill() {
    this.#dead = true;
    this.#died();
  }
  initialState() {
    return this.inner.initialState();
  }
  entries(lo: number, hi: number, max: number) {
    return this.inner.entries(lo, hi, max);
  }
  term(i: number) {
    return this.inner.term(i);
  }
  firstIndex() {
    return this.inner.firstIndex();
  }
  lastIndex() {
    return this.inner.lastIndex();
  }
  snapshot() {
    return this.inner.snapshot();
  }
  async setHardState(hs: HardState) {
    this.#alive();
    await this.inner.setHardState(hs);
  }
  async append(ents: Entry[]) {
    this.#alive();
    await this.inner.append(ents);
  }
  async persist(w: { entries: Entry[]; hardState: HardState | undefined }) {
    this.#alive();
    await this.inner.persist(w);
  }
  async applySnapshot(s: Snapshot) {
    this.#alive();
    await this.inner.applySnapshot(s);
  }
  async createSnapshot(index: number, cs: ConfState, data: Uint8Array): Promise<Snapshot> {
    this.#alive();
    const snap = await this.inner.createSnapshot(index, cs, data);
    if (this.opts.killAfterSnapshot) this.kill();
    return snap;
  }
  async compact(index: number) {
    this.#alive();
    await this.inner.compact(index);
  }
  #alive() {
    if (this.#dead) throw new Error("the process was killed");
  }
}

Deno.test("raft node: a member killed right after taking a snapshot restarts from it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-crash3-" });
  const kv = await Deno.openKv(join(dir, "c.kv"));
  const c = new Cluster(kv);
  try {
    await c.init();
    const storage = new CrashingStorage(await KvStorage.open(kv, ["a"]), {
      killAfterSnapshot: true,
    });
    const a = await c.start("a", storage);
    await c.start("b");
    await c.start("c");
    // Writes through "a" until it takes a snapshot and is killed right after. Its commit index
    // reached the applied entries in a message of its own (an ack's answer, a heartbeat).
    let last = "";
    for (let i = 0; !storage.dead; i++) {
      await knowsLeader(a);
      try {
        await a.propose(put("k", `v${i}`));
        last = `v${i}`;
      } catch (err) {
        // Dropped while leadership moves: try again.
        if (!(err instanceof ProposalDroppedError)) break;
      }
    }
    await storage.died;
    assert.notEqual(last, "");
    await c.stop();
    const durable = storage.inner;
    assert.ok(
      durable.initialState().hardState.commit >= durable.snapshot().meta.index,
      "the snapshot is not ahead of the durable commit index",
    );

    // Restarted, "a" opens its data: the core replays the log up to the snapshot (it threw
    // "applied beyond commit" when the commit index that let the snapshot's entries apply was
    // not durable) and the state machine holds every write it acknowledged.
    const sm = new KvStateMachine();
    new RaftNode({
      id: "a",
      address: "a",
      storage: await KvStorage.open(kv, ["a"]),
      transport: noTransport,
      stateMachine: sm,
    });
    assert.equal(sm.data.get("k"), last);
  } finally {
    await c.stop().catch(() => {});
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft node: a storage failure answers waiting callers at once and gives up leadership", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-fatal-" });
  const kv = await Deno.openKv(join(dir, "a.kv"));
  try {
    const sm = new KvStateMachine();
    const inner = await KvStorage.open(kv);
    await RaftNode.bootstrap(inner, { id: "a", address: "a", stateMachine: sm });
    const storage = new CrashingStorage(inner, { killAfterSnapshot: false });
    const errors: unknown[] = [];
    const node = new RaftNode({
      id: "a",
      address: "a",
      storage,
      transport: noTransport,
      stateMachine: sm,
      tickMs: 1,
      // Far longer than the test takes: the callers must not wait for it.
      requestTimeoutMs: 5_000,
      onError: (err) => errors.push(err),
    });
    node.start();
    await knowsLeader(node);
    assert.ok(node.leader.isLeader);
    const leaderless = new Promise<void>((resolve) => {
      const off = node.onLeaderChange((l) => {
        if (!l.isLeader && l.leaderId === "") (off(), resolve());
      });
    });
    storage.kill();
    const p = node.propose(put("k", "v"));
    // The proposal reached the core (and could have reached followers): its outcome is unknown,
    // which clients do not retry elsewhere.
    await assert.rejects(p, (err: { code?: string; message?: string }) => {
      assert.equal(err.code, "deadline_exceeded");
      assert.match(err.message ?? "", /raft node failed .*outcome is unknown/);
      return true;
    });
    await leaderless;
    assert.equal(node.leader.isLeader, false);
    assert.equal(errors.length, 1);
    // Nothing more is accepted; such refusals are safe to retry on another manager.
    assert.throws(() => node.propose(put("k", "w")), { code: "unavailable" });
    await node.stop();
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

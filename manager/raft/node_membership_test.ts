/**
 * The shell's member list and transport peers follow the configuration: a snapshot's ConfState
 * replaces them (thesis §4, §5.1 of the snapshot chapter), later conf-change entries change them,
 * and a restart from Deno KV gives the same list. Each test plays the leader by hand, one message
 * at a time, and waits for the follower's answer (sent once the Ready it belongs to is durable).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RaftNode } from "./node.ts";
import { KvStorage } from "./kv_storage.ts";
import { KvStateMachine, put } from "./_kv_sm_test_util.ts";
import { decodeMessage, encodeConfChange, encodeMessage } from "./core/codec.ts";
import type { Message } from "./core/messages.ts";
import type { ConfChangeType, ConfState, Entry } from "./core/types.ts";
import { sealEnvelope } from "./envelope.ts";
import { packSnapshot, unpackSnapshot } from "./state_machine.ts";

const enc = new TextEncoder();
const addr = (id: string) => `addr-${id}`;

/** A transport that records its peers and lets a test await a message. */
class RecordingTransport {
  readonly peers = new Map<string, string>();
  #waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  send(_to: string, msg: Uint8Array): void {
    const m = decodeMessage(msg);
    for (const w of this.#waiters.filter((w) => w.match(m))) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(m);
    }
  }
  setPeer(id: string, address: string): void {
    this.peers.set(id, address);
  }
  removePeer(id: string): void {
    this.peers.delete(id);
  }
  /** Resolves with the first message sent from now on that `match` accepts. */
  next(match: (m: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
  /** The acknowledgement of everything up to `index`, sent to the leader `to`. */
  ack(to: string, index: number): Promise<Message> {
    return this.next((m) => m.type === "MsgAppResp" && m.to === to && m.index >= index);
  }
  peerIds(): string[] {
    return [...this.peers.keys()].sort();
  }
}

/** Members with their addresses, as `RaftNode.members` reports them. */
function addresses(...ids: string[]): Record<string, string> {
  return Object.fromEntries(ids.map((id) => [id, addr(id)]));
}

/** A snapshot message from `from` (term 2) holding `conf`, member addresses and the app state. */
function snapMsg(
  from: string,
  to: string,
  meta: { index: number; confState: ConfState },
  members: Record<string, string>,
  app: Uint8Array,
): Message {
  const data = packSnapshot(members, app);
  return {
    type: "MsgSnap",
    from,
    to,
    term: 2,
    meta: { index: meta.index, term: 2, confState: meta.confState },
    offset: 0,
    totalBytes: data.byteLength,
    data,
    done: true,
  };
}

/** A conf-change entry as a RaftNode proposes it (the address rides in the envelope). */
function ccEntry(index: number, type: ConfChangeType, nodeId: string): Entry {
  const context = sealEnvelope(
    "a",
    index,
    type === "removeNode" ? new Uint8Array() : enc.encode(addr(nodeId)),
  );
  return { index, term: 2, type: "confChange", data: encodeConfChange({ type, nodeId, context }) };
}

function putEntry(index: number, k: string, v: string): Entry {
  return { index, term: 2, type: "normal", data: sealEnvelope("a", index, put(k, v)) };
}

function appMsg(from: string, to: string, after: number, entries: Entry[]): Message {
  const commit = entries.length > 0 ? entries[entries.length - 1].index : after;
  return { type: "MsgApp", from, to, term: 2, index: after, logTerm: 2, entries, commit };
}

/** A KV state machine that resolves `reached(index)` once it applied that index. */
class WatchedStateMachine extends KvStateMachine {
  #want: { index: number; resolve: () => void }[] = [];
  override apply(command: Uint8Array, index: number): unknown {
    const out = super.apply(command, index);
    for (const w of this.#want.filter((w) => w.index <= index)) w.resolve();
    this.#want = this.#want.filter((w) => w.index > index);
    return out;
  }
  reached(index: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve) => this.#want.push({ index, resolve }));
  }
}

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-members-" });
  const kv = await Deno.openKv(join(dir, "raft.kv"));
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function startNode(
  id: string,
  storage: KvStorage,
  opts: { peers?: Record<string, string>; sm?: KvStateMachine; snapshotEveryEntries?: number } = {},
): { node: RaftNode; transport: RecordingTransport; sm: KvStateMachine } {
  const transport = new RecordingTransport();
  const sm = opts.sm ?? new KvStateMachine();
  const node = new RaftNode({
    id,
    address: addr(id),
    storage,
    transport,
    stateMachine: sm,
    peers: opts.peers,
    // No election within a test: the test is the leader.
    tickMs: 60_000,
    snapshotEveryEntries: opts.snapshotEveryEntries ?? 1,
  });
  node.start();
  return { node, transport, sm };
}

Deno.test("raft node: a snapshot taken after a removal drops the removed manager everywhere", async () => {
  await withKv(async (kv) => {
    const storage = await KvStorage.open(kv, ["b"]);
    await storage.applySnapshot({
      meta: { index: 1, term: 1, confState: { voters: ["a", "b", "c"], learners: [] } },
      data: packSnapshot(addresses("a", "b", "c"), new KvStateMachine().snapshot()),
    });
    const { node, transport, sm } = startNode("b", storage);
    try {
      assert.deepEqual(node.members, addresses("a", "b", "c"));
      assert.deepEqual(transport.peerIds(), ["a", "c"]);

      // c was removed at some index ≤ 10; b missed it and gets the leader's snapshot at 10. The
      // leader's member map still names c (as one written before this fix did): the snapshot's
      // ConfState decides who is a member, the map only gives addresses.
      const leaderSm = new KvStateMachine();
      leaderSm.apply(put("k", "v"), 9);
      const installed = transport.ack("a", 10);
      node.receive([encodeMessage(snapMsg(
        "a",
        "b",
        { index: 10, confState: { voters: ["a", "b"], learners: [] } },
        addresses("a", "b", "c"),
        leaderSm.snapshot(),
      ))]);
      await installed;
      assert.equal(sm.data.get("k"), "v");
      assert.deepEqual(node.status().config, { voters: ["a", "b"], learners: [] });
      assert.deepEqual(node.members, addresses("a", "b"));
      assert.deepEqual(transport.peerIds(), ["a"], "the transport forgot c");

      // The next entry makes b take its own snapshot: c is not in it.
      const applied = transport.ack("a", 11);
      node.receive([encodeMessage(appMsg("a", "b", 10, [putEntry(11, "k2", "v2")]))]);
      await applied;
    } finally {
      await node.stop();
    }
    const own = storage.snapshot();
    assert.equal(own.meta.index, 11);
    assert.deepEqual(own.meta.confState, { voters: ["a", "b"], learners: [] });
    assert.deepEqual(unpackSnapshot(own.data).members, addresses("a", "b"));

    // A restart from the KV store gives the same members and peers.
    const again = startNode("b", await KvStorage.open(kv, ["b"]));
    try {
      assert.deepEqual(again.node.members, addresses("a", "b"));
      assert.deepEqual(again.transport.peerIds(), ["a"]);
      assert.equal(again.sm.data.get("k2"), "v2");
    } finally {
      await again.node.stop();
    }
  });
});

Deno.test("raft node: a joining manager survives a snapshot older than its addition", async () => {
  await withKv(async (kv) => {
    // d joins: the join answer named the managers (d itself too) and d's storage is empty.
    const storage = await KvStorage.open(kv, ["d"]);
    // No snapshot of its own: the restart below replays the entries after the leader's.
    const snapshotEveryEntries = 1000;
    const { node, transport } = startNode("d", storage, {
      peers: addresses("a", "d"),
      snapshotEveryEntries,
    });
    try {
      assert.deepEqual(node.members, {}, "not a member of any configuration yet");
      assert.deepEqual(transport.peerIds(), ["a"]);

      // Leader a sends its latest snapshot, taken before a and d were added (a installed it
      // itself when it joined): neither is in its configuration; x is, and was removed since.
      const installed = transport.ack("a", 10);
      node.receive([encodeMessage(snapMsg(
        "a",
        "d",
        { index: 10, confState: { voters: ["b", "c", "x"], learners: [] } },
        addresses("b", "c", "x"),
        new KvStateMachine().snapshot(),
      ))]);
      await installed;
      assert.deepEqual(node.members, addresses("b", "c", "x"));
      // a is not in this configuration, but d must answer it: the peer it was told of stays.
      assert.deepEqual(transport.peerIds(), ["a", "b", "c", "x"]);
      const st = node.status();
      assert.equal(st.role, "follower");
      assert.equal(st.lead, "a");
      assert.ok(!node.leader.isLeader);

      // The entries after the snapshot: x leaves, a and then d are added.
      const caughtUp = transport.ack("a", 14);
      node.receive([encodeMessage(appMsg("a", "d", 10, [
        ccEntry(11, "removeNode", "x"),
        ccEntry(12, "addNode", "a"),
        ccEntry(13, "addLearner", "d"),
        putEntry(14, "k", "v"),
      ]))]);
      await caughtUp;
      assert.deepEqual(node.status().config, { voters: ["a", "b", "c"], learners: ["d"] });
      assert.deepEqual(node.members, addresses("a", "b", "c", "d"));
      assert.deepEqual(transport.peerIds(), ["a", "b", "c"]);
      assert.equal(transport.peers.get("a"), addr("a"));
    } finally {
      await node.stop();
    }

    // Restarted (without the join answer's peers), it replays the entries after the snapshot
    // and ends with the members it had.
    const sm = new WatchedStateMachine();
    const replayed = sm.reached(14);
    const again = startNode("d", await KvStorage.open(kv, ["d"]), { sm, snapshotEveryEntries });
    try {
      await replayed;
      assert.deepEqual(again.node.members, addresses("a", "b", "c", "d"));
      assert.deepEqual(again.transport.peerIds(), ["a", "b", "c"]);
    } finally {
      await again.node.stop();
    }
  });
});

Deno.test("raft node: a message whose sender is not the authenticated peer is dropped", async () => {
  await withKv(async (kv) => {
    const storage = await KvStorage.open(kv, ["b"]);
    await storage.applySnapshot({
      meta: { index: 10, term: 2, confState: { voters: ["a", "b", "c"], learners: [] } },
      data: packSnapshot(addresses("a", "b", "c"), new KvStateMachine().snapshot()),
    });
    const errors: string[] = [];
    const transport = new RecordingTransport();
    const sm = new KvStateMachine();
    const node = new RaftNode({
      id: "b",
      address: addr("b"),
      storage,
      transport,
      stateMachine: sm,
      tickMs: 60_000,
      onError: (err) => errors.push(String(err)),
    });
    node.start();
    try {
      // c's certificate, claiming to be leader a: dropped. Then a itself, same index.
      node.receive([encodeMessage(appMsg("a", "b", 10, [putEntry(11, "k", "forged")]))], "c");
      const applied = transport.ack("a", 11);
      node.receive([encodeMessage(appMsg("a", "b", 10, [putEntry(11, "k", "real")]))], "a");
      await applied;
      assert.equal(sm.data.get("k"), "real");
      assert.equal(errors.length, 1);
      assert.match(errors[0], /claiming to be from "a" on the connection of "c"/);
    } finally {
      await node.stop();
    }
  });
});

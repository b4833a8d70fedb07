/**
 * Raft nodes in one process over an in-memory network, for the shell's tests: each member has
 * its own prefix in one Deno KV file, messages arrive on a later turn (as from a socket), and a
 * filter can drop some.
 * @module
 */
import { type PersistentStorage, RaftNode, type RaftNodeOptions } from "./node.ts";
import { KvStorage } from "./kv_storage.ts";
import { KvStateMachine } from "./_kv_sm_test_util.ts";
import { decodeMessage } from "./core/codec.ts";
import type { Message } from "./core/messages.ts";
import { join } from "node:path";

/** A transport that goes nowhere (a single node). */
export const noTransport = { send: () => {}, setPeer: () => {}, removePeer: () => {} };

/** Voters a, b and c in this process, each with its own KV prefix, over an in-memory network. */
export class Cluster {
  readonly nodes = new Map<string, RaftNode>();
  readonly ids = ["a", "b", "c"];
  /** Messages for which this returns true are lost. */
  drop: (from: string, m: Message) => boolean = () => false;
  constructor(
    readonly kv: Deno.Kv,
    readonly opts: Partial<Pick<RaftNodeOptions, "tickMs" | "requestTimeoutMs">> = {},
  ) {}

  /** Empty storages holding the initial membership. */
  async init(): Promise<void> {
    for (const id of this.ids) {
      const st = await KvStorage.open(this.kv, [id]);
      await st.applySnapshot({
        meta: { index: 1, term: 1, confState: { voters: this.ids, learners: [] } },
        data: new Uint8Array(),
      });
    }
  }

  /** Starts `id` on `storage` (its KV prefix by default). */
  async start(id: string, storage?: PersistentStorage): Promise<RaftNode> {
    const node = new RaftNode({
      id,
      address: id,
      storage: storage ?? await KvStorage.open(this.kv, [id]),
      transport: {
        // Delivered on a later turn, as a socket would, so no node steps inside another's Ready.
        send: (to, msg) => {
          if (this.drop(id, decodeMessage(msg))) return;
          setTimeout(() => this.nodes.get(to)?.receive([msg]));
        },
        setPeer: () => {},
        removePeer: () => {},
      },
      stateMachine: new KvStateMachine(),
      tickMs: this.opts.tickMs ?? 2,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      snapshotEveryEntries: 5,
    });
    this.nodes.set(id, node);
    node.start();
    return node;
  }

  /**
   * Loses the next message of `type` that `from` sends (and only that one): resolves once it
   * was lost.
   */
  loseNext(from: string, type: Message["type"]): Promise<void> {
    return new Promise((resolve) => {
      this.drop = (sender, m) => {
        if (sender !== from || m.type !== type) return false;
        this.drop = () => false;
        resolve();
        return true;
      };
    });
  }

  /** Stops `node` and takes it out of the cluster, as a crash would. */
  async crash(node: RaftNode): Promise<void> {
    await node.stop();
    this.nodes.delete(node.id);
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop();
    this.nodes.clear();
  }
}

/** Resolves once `node` knows a leader. */
export function knowsLeader(node: RaftNode): Promise<void> {
  if (node.leader.leaderId !== "") return Promise.resolve();
  return new Promise((resolve) => {
    const off = node.onLeaderChange((l) => {
      if (l.leaderId !== "") (off(), resolve());
    });
  });
}

/**
 * Runs `fn` on a started cluster (its own KV file) once every node knows the leader, with that
 * leader and one follower; stops and removes everything afterwards.
 */
export async function withLeaderAndFollower(
  opts: Cluster["opts"],
  fn: (c: Cluster, leader: RaftNode, follower: RaftNode) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-cluster-" });
  const kv = await Deno.openKv(join(dir, "c.kv"));
  const c = new Cluster(kv, opts);
  try {
    await c.init();
    for (const id of c.ids) await c.start(id);
    for (const n of c.nodes.values()) await knowsLeader(n);
    const leader = [...c.nodes.values()].find((n) => n.leader.isLeader)!;
    const follower = [...c.nodes.values()].find((n) => !n.leader.isLeader)!;
    await fn(c, leader, follower);
  } finally {
    await c.stop().catch(() => {});
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

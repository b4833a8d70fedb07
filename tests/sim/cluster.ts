/**
 * The simulated cluster: the nodes (initial voters bootstrapped from one snapshot, and nodes that
 * join later with an empty disk), who leads, who is a member, and one step of message delivery and
 * Ready handling.
 * @module
 */
import type { ConfState, NodeId, Snapshot } from "../../manager/raft/core/types.ts";
import { KvStateMachine } from "./kv_state_machine.ts";
import type { Envelope } from "./network.ts";
import { type NodeEnv, SimNode } from "./sim_node.ts";

/** All nodes that ever existed, in creation order. */
export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly #env: NodeEnv;
  #nextId: number;

  /** Creates and starts `voters` nodes n1..nN sharing a bootstrap snapshot at index 1. */
  constructor(env: NodeEnv, voters: number) {
    this.#env = env;
    const ids = Array.from({ length: voters }, (_, i) => `n${i + 1}`);
    const boot: Snapshot = {
      meta: { index: 1, term: 1, confState: { voters: ids, learners: [] } },
      data: new KvStateMachine().snapshot(),
    };
    for (const id of ids) {
      const n = new SimNode(id, boot, env);
      this.nodes.set(id, n);
      n.start();
    }
    this.#nextId = voters + 1;
  }

  /** A new node with an empty disk, started, not yet a member. */
  addEmptyNode(): SimNode {
    const id = `n${this.#nextId++}`;
    const n = new SimNode(id, undefined, this.#env);
    this.nodes.set(id, n);
    n.start();
    return n;
  }

  /** The node `id`. */
  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  /** Running nodes, in creation order. */
  up(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** The running leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.up && n.role === "leader" && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  /**
   * The membership as the most recent leader knows it, else as the running node with the highest
   * term knows it.
   */
  membership(): ConfState {
    const l = this.leader();
    if (l?.core) return l.core.confState();
    let best: SimNode | undefined;
    for (const n of this.up()) if (!best || n.term > best.term) best = n;
    return best?.core?.confState() ?? { voters: [], learners: [] };
  }

  /** Hands a delivered envelope to its node (dropped if the node is down or unknown). */
  deliver(e: Envelope): void {
    this.nodes.get(e.to)?.receive(e);
  }

  /** Handles the Readies of every running node (in a random order; slow nodes may skip). */
  processReadies(slowRate: number): void {
    const env = this.#env;
    for (const n of env.rng.shuffled(this.up())) {
      if (env.rng.chance(slowRate)) continue;
      for (let i = 0; i < 4 && n.handleReady(); i++);
      n.serveReads();
    }
  }

  /** Runs the per-step checks on every running node. */
  check(): void {
    const env = this.#env;
    for (const n of this.nodes.values()) {
      if (!n.core) continue;
      const s = n.core.status();
      n.observe(s);
      env.checkers.checkProgress(n.id, s, n.appliedIndex);
    }
    const logs = [...this.nodes.values()].map((n) => ({
      id: n.id,
      storage: n.disk.storage,
      version: n.disk.version,
    }));
    env.checkers.compareLogs(logs);
  }
}

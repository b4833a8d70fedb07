/**
 * An in-process cluster of Raft cores over an in-memory network, driven step by step: the
 * transcript tests' environment, and a base for the deterministic simulator. Each node has a
 * MemoryStorage and a toy application (an ordered list of applied commands) that snapshots as
 * JSON. Handling a Ready follows the contract on {@link Ready} exactly.
 * @module
 */
import type { RaftConfig } from "../config.ts";
import type { MemoryStorage } from "../memory_storage.ts";
import type { Message } from "../messages.ts";
import { RaftCore } from "../raft_core.ts";
import type { Ready } from "../ready.ts";
import type { ConfState, NodeId, Snapshot } from "../types.ts";
import { describeMessage, describeReady } from "./describe.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The toy state machine: commands applied, in order, with their indexes. */
export interface AppState {
  applied: [index: number, data: string][];
}

/** One simulated node. */
export class EnvNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  core: RaftCore;
  readonly config: RaftConfig;
  app: AppState = { applied: [] };
  /** Index of the last applied entry or snapshot. */
  appliedIndex = 0;
  /** Membership after each applied change, for snapshots at past indexes. */
  confHistory: { index: number; confState: ConfState }[] = [];

  constructor(config: RaftConfig, storage: MemoryStorage) {
    this.id = config.id;
    this.config = config;
    this.storage = storage;
    this.core = new RaftCore(config, storage);
    const snap = storage.snapshot();
    this.appliedIndex = snap.meta.index;
    this.confHistory.push({ index: snap.meta.index, confState: snap.meta.confState });
    if (snap.data.byteLength > 0) this.app = decodeApp(snap.data);
  }

  /** Membership in effect at `index` (≤ applied). */
  confStateAt(index: number): ConfState {
    let cs = this.confHistory[0].confState;
    for (const h of this.confHistory) if (h.index <= index) cs = h.confState;
    return cs;
  }

  /** The application's snapshot data as of `index` (≤ applied). */
  snapshotData(index: number): Uint8Array {
    return enc.encode(JSON.stringify(this.app.applied.filter(([i]) => i <= index)));
  }
}

function decodeApp(data: Uint8Array): AppState {
  return { applied: JSON.parse(dec.decode(data)) };
}

/** Cluster of nodes plus the messages in flight between them. */
export class Env {
  readonly nodes = new Map<NodeId, EnvNode>();
  /** Messages sent and not yet delivered, in send order. */
  inFlight: Message[] = [];
  /** Node → partition group; nodes in different groups cannot talk. Empty = fully connected. */
  partition = new Map<NodeId, number>();
  /** Output lines of the current command. */
  out: string[] = [];

  /** Node IDs in a stable order (numeric when they are numbers). */
  ids(): NodeId[] {
    return [...this.nodes.keys()].sort(compareIds);
  }

  node(id: NodeId): EnvNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  /** Adds a node over `storage` (already bootstrapped as the caller wishes). */
  addNode(config: RaftConfig, storage: MemoryStorage): EnvNode {
    const n = new EnvNode(config, storage);
    this.nodes.set(n.id, n);
    return n;
  }

  /** Handles one Ready of node `id` following the contract; returns false if there was none. */
  processReady(id: NodeId): boolean {
    const n = this.node(id);
    if (!n.core.hasReady()) return false;
    const rd = n.core.ready();
    this.out.push(`> ${id} handling Ready`, ...describeReady(rd).map((l) => `  ${l}`));
    this.#persist(n, rd);
    this.inFlight.push(...rd.messages);
    this.#apply(n, rd);
    n.core.advance(rd);
    if (rd.committedEntries.some((e) => e.type === "confChange")) {
      n.confHistory.push({ index: n.appliedIndex, confState: n.core.confState() });
    }
    return true;
  }

  #persist(n: EnvNode, rd: Ready): void {
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
  }

  #apply(n: EnvNode, rd: Ready): void {
    if (rd.snapshot) this.#restore(n, rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.type === "normal" && e.data.byteLength > 0) {
        n.app.applied.push([e.index, dec.decode(e.data)]);
      }
      n.appliedIndex = e.index;
    }
  }

  #restore(n: EnvNode, s: Snapshot): void {
    n.app = s.data.byteLength ? decodeApp(s.data) : { applied: [] };
    n.appliedIndex = s.meta.index;
    n.confHistory.push({ index: s.meta.index, confState: s.meta.confState });
  }

  /** Whether `from` can reach `to` under the current partition. */
  connected(from: NodeId, to: NodeId): boolean {
    if (this.partition.size === 0) return true;
    return (this.partition.get(from) ?? -1) === (this.partition.get(to) ?? -1);
  }

  /**
   * Delivers the in-flight messages addressed to `to` (in order). Messages to nodes in `drop`,
   * across a partition or to unknown nodes are discarded. Returns how many were handled.
   */
  deliver(to: NodeId, drop: ReadonlySet<NodeId> = new Set()): number {
    const mine = this.inFlight.filter((m) => m.to === to);
    if (mine.length === 0) return 0;
    this.inFlight = this.inFlight.filter((m) => m.to !== to);
    this.out.push(`> ${to} receiving messages`);
    for (const m of mine) {
      const n = this.nodes.get(to);
      if (!n || drop.has(to) || !this.connected(m.from, to)) {
        this.out.push(`  ${describeMessage(m)} DROPPED`);
        continue;
      }
      this.out.push(`  ${describeMessage(m)}`);
      n.core.step(m);
    }
    return mine.length;
  }

  /** Recipients of in-flight messages, in stable order. */
  recipients(): NodeId[] {
    return [...new Set(this.inFlight.map((m) => m.to))].sort(compareIds);
  }

  /**
   * Processes Readies and delivers messages among `ids` (all nodes by default) until nothing
   * changes. Messages to other nodes stay in flight.
   */
  stabilize(ids: NodeId[] = this.ids(), maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const id of ids) busy = this.processReady(id) || busy;
      for (const id of this.recipients()) {
        if (ids.includes(id) && this.deliver(id) > 0) busy = true;
      }
      if (!busy) return;
    }
    throw new Error(`not stable after ${maxRounds} rounds`);
  }

  /** Returns and clears the output of the current command. */
  takeOutput(): string {
    const s = this.out.join("\n");
    this.out = [];
    return s;
  }
}

/** Orders node IDs numerically when both are numbers, else lexically. */
export function compareIds(a: string, b: string): number {
  const na = Number(a), nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

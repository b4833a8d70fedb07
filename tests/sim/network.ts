/**
 * The simulated network between nodes and clients. Every message gets a random delay (so messages
 * are reordered), may be dropped or duplicated, and is lost when a partition separates its ends at
 * delivery time. Raft messages travel encoded with the core's wire codec and are decoded at each
 * delivery, so a duplicate is a distinct object (as on a real wire) and the codec is exercised.
 * @module
 */
import { decodeMessage, encodeMessage } from "../../manager/raft/core/codec.ts";
import type { Message } from "../../manager/raft/core/messages.ts";
import type { NodeId } from "../../manager/raft/core/types.ts";
import type { KvInput, KvOutput } from "./kv_model.ts";
import type { SimRng } from "./rng.ts";

/** A client's request to a node. `viaLog` asks for a get to be served as a log entry. */
export interface ClientRequest {
  kind: "request";
  clientId: number;
  requestId: number;
  input: KvInput;
  viaLog: boolean;
}

/** A node's answer: the output, or "not the leader" with a hint of who is. */
export interface ClientReply {
  kind: "reply";
  clientId: number;
  requestId: number;
  result: { kind: "ok"; output: KvOutput } | { kind: "notLeader"; leaderHint: NodeId };
}

/** What travels: an encoded Raft message, or a client request or reply. */
export type Payload = { kind: "raft"; bytes: Uint8Array } | ClientRequest | ClientReply;

/** A message in flight. */
export interface Envelope {
  from: string;
  to: string;
  deliverAt: number;
  payload: Payload;
}

/** Counters for the coverage summary. */
export interface NetStats {
  sent: number;
  dropped: number;
  duplicated: number;
  partitioned: number;
  snapshotChunks: number;
}

/** Fault rates of the network (mutable: the simulator calms it down for the final phase). */
export interface NetFaults {
  maxDelaySteps: number;
  dropRate: number;
  duplicateRate: number;
}

/** The network. Node-to-node links can be cut per direction; client links are never cut. */
export class Network {
  readonly faults: NetFaults;
  readonly stats: NetStats = {
    sent: 0,
    dropped: 0,
    duplicated: 0,
    partitioned: 0,
    snapshotChunks: 0,
  };
  readonly #rng: SimRng;
  readonly #inFlight = new Map<number, Envelope[]>();
  /** Cut directed links "from>to". */
  readonly #cut = new Set<string>();

  constructor(rng: SimRng, faults: NetFaults) {
    this.#rng = rng;
    this.faults = { ...faults };
  }

  /** Sends a Raft message from its `from` to its `to` node. */
  sendRaft(now: number, m: Message): void {
    if (m.type === "MsgSnap") this.stats.snapshotChunks++;
    this.#send(now, m.from, m.to, { kind: "raft", bytes: encodeMessage(m) });
  }

  /** Sends a client request or reply. */
  sendClient(now: number, from: string, to: string, payload: ClientRequest | ClientReply): void {
    this.#send(now, from, to, payload);
  }

  #send(now: number, from: string, to: string, payload: Payload): void {
    this.stats.sent++;
    if (this.#rng.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.#rng.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const deliverAt = now + 1 + this.#rng.int(this.faults.maxDelaySteps);
      const list = this.#inFlight.get(deliverAt) ?? [];
      list.push({ from, to, deliverAt, payload });
      this.#inFlight.set(deliverAt, list);
    }
  }

  /** Messages due at `now`, in a random order, without those a partition cuts. */
  deliverable(now: number): Envelope[] {
    const due = this.#inFlight.get(now);
    if (!due) return [];
    this.#inFlight.delete(now);
    const out: Envelope[] = [];
    for (const e of this.#rng.shuffled(due)) {
      if (this.isCut(e.from, e.to)) {
        this.stats.partitioned++;
        continue;
      }
      out.push(e);
    }
    return out;
  }

  /** Decodes a delivered Raft message (a fresh object per delivery). */
  static decode(e: Envelope): Message {
    if (e.payload.kind !== "raft") throw new Error("not a raft message");
    return decodeMessage(e.payload.bytes);
  }

  /** Whether the directed link is cut. */
  isCut(from: string, to: string): boolean {
    return this.#cut.size > 0 && this.#cut.has(`${from}>${to}`);
  }

  /** Cuts the directed link from → to. */
  cut(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
    }
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** Whether any link is cut. */
  get partitioned(): boolean {
    return this.#cut.size > 0;
  }

  /** Messages in flight (for quiescence checks). */
  get inFlightCount(): number {
    let n = 0;
    for (const l of this.#inFlight.values()) n += l.length;
    return n;
  }
}

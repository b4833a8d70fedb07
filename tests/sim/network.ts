/**
 * The simulated network between nodes and clients. Every message gets a random delay (so messages
 * are reordered), may be dropped or duplicated, and is lost when a partition separates its ends at
 * delivery time. Each delivery hands the receiver a fresh copy of a Raft message (a duplicate is a
 * distinct object, as on a real wire: the core mutates some messages it receives). A share of the
 * messages travels through the core's wire codec (encode on send, decode on delivery), so the codec
 * is exercised too; the rest are copied structurally, which is much cheaper.
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

/** What travels: a Raft message (maybe encoded), or a client request or reply. */
export type Payload =
  | { kind: "raft"; message: Message; bytes: Uint8Array | undefined }
  | ClientRequest
  | ClientReply;

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
  /** Share of Raft messages sent through the wire codec. */
  codecShare: number;
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
    const bytes = this.#rng.chance(this.faults.codecShare) ? encodeMessage(m) : undefined;
    this.#send(now, m.from, m.to, { kind: "raft", message: m, bytes });
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

  /** The delivered Raft message, as a fresh object per delivery. */
  static decode(e: Envelope): Message {
    if (e.payload.kind !== "raft") throw new Error("not a raft message");
    return e.payload.bytes ? decodeMessage(e.payload.bytes) : copyMessage(e.payload.message);
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

/** A copy of `m` sharing only byte buffers (which nobody mutates). */
function copyMessage(m: Message): Message {
  switch (m.type) {
    case "MsgApp":
    case "MsgProp":
      return { ...m, entries: m.entries.map((e) => ({ ...e })) };
    case "MsgSnap":
      return {
        ...m,
        meta: {
          ...m.meta,
          confState: {
            voters: [...m.meta.confState.voters],
            learners: [...m.meta.confState.learners],
          },
        },
      };
    default:
      return { ...m };
  }
}

/**
 * Pending ReadIndex requests of a leader (§6.4): each records the commit index when it arrived and
 * collects heartbeat acknowledgements until a quorum confirms the leader was still the leader.
 * @module
 */
import type { ReadOnlyOption } from "./config.ts";
import type { MsgReadIndex } from "./messages.ts";
import type { NodeId } from "./types.ts";

/** One pending read. */
export interface ReadIndexStatus {
  req: MsgReadIndex;
  index: number;
  acks: Map<NodeId, boolean>;
}

/** Queue of pending reads, keyed by request context (unique per read). */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  readonly #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Queues a read at `index`; a duplicate context is ignored. */
  addRequest(index: number, m: MsgReadIndex): void {
    if (this.#pending.has(m.context)) return;
    this.#pending.set(m.context, { index, req: m, acks: new Map() });
    this.#queue.push(m.context);
  }

  /** Records `id`'s heartbeat acknowledgement of `context`; returns the acks so far. */
  recvAck(id: NodeId, context: string): Map<NodeId, boolean> | undefined {
    const rs = this.#pending.get(context);
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * `context` is confirmed: it and every read queued before it are answered (a heartbeat round
   * confirming a later read confirms the earlier ones too).
   */
  advance(context: string): ReadIndexStatus[] {
    const i = this.#queue.indexOf(context);
    if (i < 0) return [];
    const done = this.#queue.slice(0, i + 1);
    this.#queue = this.#queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const ctx of done) {
      const rs = this.#pending.get(ctx);
      if (rs) out.push(rs);
      this.#pending.delete(ctx);
    }
    return out;
  }

  /** Context of the newest pending read (sent with heartbeats), or "". */
  lastPendingRequestContext(): string {
    return this.#queue.length === 0 ? "" : this.#queue[this.#queue.length - 1];
  }

  /** Number of pending reads. */
  get size(): number {
    return this.#queue.length;
  }
}

/**
 * Outbound Raft traffic to one peer: a bounded queue drained in batches, with a bounded number
 * of batches in flight (pipelining) and backpressure by dropping. Raft tolerates lost messages
 * (it retries through heartbeats and probes), so a full queue drops rather than blocking the
 * node's loop; each drop and each failed batch is reported so the core can mark the peer
 * unreachable and fall back to probing.
 * @module
 */

/** Sends one batch of encoded messages to the peer; rejects when the peer is unreachable. */
export type SendBatch = (batch: Uint8Array[]) => Promise<void>;

/** Limits and callbacks of a peer sender. */
export interface PeerSenderOptions {
  send: SendBatch;
  /** Most messages waiting to be sent; past it new messages are dropped. */
  maxQueueMsgs?: number;
  /** Most bytes waiting to be sent; past it new messages are dropped. */
  maxQueueBytes?: number;
  /** Most bytes in one batch (a single larger message still goes alone). */
  maxBatchBytes?: number;
  /** Most batches in flight at once. */
  maxInflightBatches?: number;
  /** Called when messages were dropped or a batch failed. */
  onUnreachable?: (reason: string) => void;
}

/** Counters for metrics and tests. */
export interface PeerSenderStats {
  sentMsgs: number;
  sentBatches: number;
  droppedMsgs: number;
  failedBatches: number;
}

/** Queues, batches and sends messages to one peer. */
export class PeerSender {
  readonly #send: SendBatch;
  readonly #maxQueueMsgs: number;
  readonly #maxQueueBytes: number;
  readonly #maxBatchBytes: number;
  readonly #maxInflight: number;
  readonly #onUnreachable: (reason: string) => void;
  #queue: Uint8Array[] = [];
  #queueBytes = 0;
  #inflight = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  readonly stats: PeerSenderStats = {
    sentMsgs: 0,
    sentBatches: 0,
    droppedMsgs: 0,
    failedBatches: 0,
  };

  constructor(opts: PeerSenderOptions) {
    this.#send = opts.send;
    this.#maxQueueMsgs = opts.maxQueueMsgs ?? 4096;
    this.#maxQueueBytes = opts.maxQueueBytes ?? 64 << 20;
    this.#maxBatchBytes = opts.maxBatchBytes ?? 1 << 20;
    this.#maxInflight = opts.maxInflightBatches ?? 4;
    this.#onUnreachable = opts.onUnreachable ?? (() => {});
  }

  /** Queues one encoded message; returns false when it was dropped (queue full or closed). */
  enqueue(msg: Uint8Array): boolean {
    if (
      this.#closed || this.#queue.length >= this.#maxQueueMsgs ||
      this.#queueBytes + msg.byteLength > this.#maxQueueBytes
    ) {
      this.stats.droppedMsgs++;
      if (!this.#closed) this.#onUnreachable("send queue full");
      return false;
    }
    this.#queue.push(msg);
    this.#queueBytes += msg.byteLength;
    this.#pump();
    return true;
  }

  /** Messages waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops everything queued and refuses new messages; in-flight batches finish on their own. */
  close(): void {
    this.#closed = true;
    this.stats.droppedMsgs += this.#queue.length;
    this.#queue = [];
    this.#queueBytes = 0;
    this.#notifyIdle();
  }

  #takeBatch(): Uint8Array[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const size = this.#queue[n].byteLength;
      if (n > 0 && bytes + size > this.#maxBatchBytes) break;
      bytes += size;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#queueBytes -= bytes;
    return batch;
  }

  #pump(): void {
    while (this.#inflight < this.#maxInflight && this.#queue.length > 0) {
      const batch = this.#takeBatch();
      this.#inflight++;
      this.#send(batch).then(
        () => {
          this.stats.sentBatches++;
          this.stats.sentMsgs += batch.length;
        },
        (err) => {
          this.stats.failedBatches++;
          this.#onUnreachable(err instanceof Error ? err.message : String(err));
        },
      ).finally(() => {
        this.#inflight--;
        this.#pump();
        this.#notifyIdle();
      });
    }
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#inflight > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

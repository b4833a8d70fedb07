/**
 * One peer's outbound Raft connection for {@link TlsRaftTransport}: a bounded queue written as
 * length-prefixed frames on one persistent socket, everything queued in one event-loop turn
 * going out as one socket write.
 *
 * - Ordering: one socket at a time; frames go out in the order queued.
 * - Backpressure: while the socket has unflushed bytes past its high-water mark, the queue
 *   grows; past its bound new messages are dropped (never blocking the node) and the peer is
 *   reported unreachable. A write not drained within `writeTimeoutMs` (peer frozen) resets the
 *   connection.
 * - Failure: a closed or failed connection drops what is queued, reports the peer unreachable
 *   and reconnects on the next send after a backoff (100 ms doubling to 1 s; reset once a
 *   connection lived longer than the longest backoff). Messages sent during the backoff are
 *   dropped: Raft retries with fresh ones (heartbeats, probes) once the peer answers again.
 * - Notices: the server writes nothing but, before it closes a connection it will not serve, a
 *   notice frame saying why (frame.ts); each one reaches `onNotice`.
 * @module
 */
import type * as net from "node:net";
import {
  decodeNotice,
  framedSize,
  FrameReader,
  MAX_NOTICE_FRAME_BYTES,
  type Notice,
  writeFrames,
} from "./frame.ts";
import { reasonOf } from "./_tls_conn.ts";

/** Counters of one peer (the same shape as the gRPC transport's). */
export interface PeerConnStats {
  sentMsgs: number;
  /** Socket writes (each carries every message queued in one turn, up to the batch bound). */
  sentBatches: number;
  droppedMsgs: number;
  /** Connections that failed or were closed by the peer. */
  failedBatches: number;
}

/** Options of a {@link PeerConn}. */
export interface PeerConnOptions {
  /**
   * Opens a socket to the peer and calls `onReady` once it can carry frames (TCP connected, or
   * TLS handshake done and the server certificate accepted). The socket's first frame must be
   * the handshake: `connect` writes it.
   */
  connect: (onReady: () => void) => net.Socket;
  maxQueueMsgs: number;
  maxQueueBytes: number;
  maxBatchBytes: number;
  writeTimeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** The peer missed messages (dropped, or lost with a failed connection). */
  onUnreachable: (reason: string) => void;
  /** The peer said why it closes the connection (e.g. this node was removed). */
  onNotice?: (notice: Notice) => void;
}

/** A persistent, reconnecting, batching connection to one peer. */
export class PeerConn {
  readonly #o: PeerConnOptions;
  readonly stats: PeerConnStats = { sentMsgs: 0, sentBatches: 0, droppedMsgs: 0, failedBatches: 0 };
  #queue: Uint8Array[] = [];
  #queueBytes = 0;
  #sock: net.Socket | undefined;
  #ready = false;
  #openedAt = 0;
  #flushScheduled = false;
  #stuckTimer: ReturnType<typeof setTimeout> | undefined;
  #backoffMs: number;
  #retryAt = 0;
  #reportPending: string | undefined;
  #closed = false;
  /** Connections opened so far (for tests and metrics). */
  connects = 0;

  constructor(opts: PeerConnOptions) {
    this.#o = opts;
    this.#backoffMs = opts.initialBackoffMs;
  }

  /** Messages waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether a connection is up and carrying frames. */
  get connected(): boolean {
    return this.#ready;
  }

  /** Queues one message; returns false when it was dropped. */
  send(msg: Uint8Array): boolean {
    if (this.#closed) return false;
    if (!this.#sock) {
      const waitMs = this.#retryAt - performance.now();
      if (waitMs > 0) return this.#drop(`reconnecting in ${Math.ceil(waitMs)} ms`);
      this.#open();
    }
    if (
      this.#queue.length >= this.#o.maxQueueMsgs ||
      this.#queueBytes + msg.byteLength > this.#o.maxQueueBytes
    ) {
      return this.#drop("send queue full");
    }
    this.#queue.push(msg);
    this.#queueBytes += msg.byteLength;
    this.#scheduleFlush();
    return true;
  }

  /** Drops the queue and closes the connection for good. */
  close(): void {
    this.#closed = true;
    this.#dropQueue();
    const s = this.#sock;
    this.#reset();
    s?.destroy();
  }

  #open(): void {
    this.connects++;
    this.#openedAt = performance.now();
    const sock = this.#o.connect(() => {
      if (this.#sock !== sock) return;
      this.#clearStuckTimer();
      this.#ready = true;
      this.#scheduleFlush();
    });
    this.#sock = sock;
    sock.setNoDelay(true);
    // Nothing but a notice is expected from the server; reading is also how its close is noticed.
    const reader = new FrameReader({ maxFrameBytes: MAX_NOTICE_FRAME_BYTES });
    sock.on("data", (chunk: Uint8Array) => {
      if (this.#sock !== sock) return;
      let notices: Notice[];
      try {
        notices = reader.push(chunk).map(decodeNotice);
      } catch (err) {
        this.#fail(sock, `the server sent what is not a notice: ${reasonOf(err)}`);
        return;
      }
      for (const n of notices) this.#o.onNotice?.(n);
    });
    sock.on("error", (err: Error) => this.#fail(sock, err.message));
    sock.on("close", () => this.#fail(sock, "connection closed"));
    // Also bounds how long a connect or handshake may hang.
    this.#armStuckTimer(sock);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || !this.#ready || this.#stuckTimer) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const sock = this.#sock;
    if (!sock || !this.#ready || this.#stuckTimer) return;
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      const buf = new Uint8Array(framedSize(batch));
      writeFrames(buf, batch);
      this.stats.sentBatches++;
      this.stats.sentMsgs += batch.length;
      if (!sock.write(buf)) {
        // The socket holds more than its high-water mark: wait for it to drain.
        this.#armStuckTimer(sock);
        sock.once("drain", () => {
          if (this.#sock !== sock) return;
          this.#clearStuckTimer();
          this.#flush();
        });
        return;
      }
    }
  }

  #takeBatch(): Uint8Array[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const size = this.#queue[n].byteLength;
      if (n > 0 && bytes + size > this.#o.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    this.#queueBytes -= bytes;
    if (n === this.#queue.length) {
      const all = this.#queue;
      this.#queue = [];
      return all;
    }
    return this.#queue.splice(0, n);
  }

  #armStuckTimer(sock: net.Socket): void {
    this.#clearStuckTimer();
    this.#stuckTimer = setTimeout(() => {
      this.#stuckTimer = undefined;
      if (this.#sock !== sock) return;
      const what = this.#ready ? "write not drained" : "connection not ready";
      this.#fail(sock, `${what} within ${this.#o.writeTimeoutMs} ms`);
      sock.destroy();
    }, this.#o.writeTimeoutMs);
  }

  #clearStuckTimer(): void {
    if (this.#stuckTimer) clearTimeout(this.#stuckTimer);
    this.#stuckTimer = undefined;
  }

  /** Ends the current connection `sock` (once): drop the queue, report, back off. */
  #fail(sock: net.Socket, reason: string): void {
    if (this.#sock !== sock) return;
    const now = performance.now();
    // A connection that lived a while was healthy: start over from the shortest wait.
    if (this.#ready && now - this.#openedAt > this.#o.maxBackoffMs) {
      this.#backoffMs = this.#o.initialBackoffMs;
    }
    this.#retryAt = now + this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#o.maxBackoffMs);
    this.#reset();
    sock.destroy();
    if (this.#closed) return;
    this.stats.failedBatches++;
    this.#dropQueue();
    this.#report(reason);
  }

  #reset(): void {
    this.#sock = undefined;
    this.#ready = false;
    this.#clearStuckTimer();
  }

  #dropQueue(): void {
    this.stats.droppedMsgs += this.#queue.length;
    this.#queue = [];
    this.#queueBytes = 0;
  }

  #drop(reason: string): false {
    this.stats.droppedMsgs++;
    this.#report(reason);
    return false;
  }

  /** Reports the peer unreachable at most once per turn, however many messages were lost. */
  #report(reason: string): void {
    if (this.#closed || this.#reportPending !== undefined) return;
    this.#reportPending = reason;
    queueMicrotask(() => {
      const r = this.#reportPending!;
      this.#reportPending = undefined;
      if (!this.#closed) this.#o.onUnreachable(r);
    });
  }
}

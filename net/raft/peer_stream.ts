/**
 * One long-lived client stream to a peer (`RaftService/Stream`): each batch of Raft messages is
 * one message on it, so a batch costs a frame on an open HTTP/2 stream instead of a whole unary
 * call (headers, trailers, a response). Messages on one stream also arrive in the order written.
 *
 * A batch's promise resolves once gRPC has handed it to the connection (its write callback, and
 * `drain` when `write()` returned false), which is the backpressure {@link PeerSender} needs to
 * bound what is in flight. It rejects when the stream fails (peer gone, connection reset) or a
 * write stays unflushed past `writeTimeoutMs` (peer frozen, flow-control window full): the
 * stream is then cancelled, every pending batch rejects (Raft retries what was lost), and the
 * next batch opens a new stream, after a backoff that grows while the peer stays unreachable.
 * @module
 */
import { UnavailableError } from "../../proto/errors.ts";

/** The part of a grpc-js client writable stream (`ClientWritableStream`) used here. */
export interface WritableCall<T> {
  write(message: T, cb: (err?: Error | null) => void): boolean;
  once(event: "drain", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  cancel(): void;
}

/**
 * Opens a stream; `onEnd` is called once when it ends, with its error (null when the server
 * ended it with OK).
 */
export type OpenStream<T> = (onEnd: (err: Error | null) => void) => WritableCall<T>;

/** Options of a {@link PeerStream}. */
export interface PeerStreamOptions<T> {
  open: OpenStream<T>;
  /** Longest a batch may wait to be flushed before the stream counts as stuck. Default 2,000. */
  writeTimeoutMs?: number;
  /** First wait before reopening a failed stream. Default 100. */
  initialBackoffMs?: number;
  /** Longest wait before reopening. Default 1,000. */
  maxBackoffMs?: number;
  /** Called when a stream ends in an error (after `onEnd`'s bookkeeping). */
  onStreamError?: (err: Error) => void;
}

interface Pending {
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Open<T> {
  call: WritableCall<T>;
  openedAt: number;
  pending: Set<Pending>;
  ended: boolean;
}

/** A reopening client stream that sends batches with backpressure. */
export class PeerStream<T> {
  readonly #open: OpenStream<T>;
  readonly #writeTimeoutMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onStreamError: (err: Error) => void;
  #cur: Open<T> | undefined;
  #backoffMs: number;
  #retryAt = 0;
  #closed = false;
  /** Streams opened so far (for tests and metrics). */
  opened = 0;

  constructor(opts: PeerStreamOptions<T>) {
    this.#open = opts.open;
    this.#writeTimeoutMs = opts.writeTimeoutMs ?? 2000;
    this.#initialBackoffMs = opts.initialBackoffMs ?? 100;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 1000;
    this.#backoffMs = this.#initialBackoffMs;
    this.#onStreamError = opts.onStreamError ?? (() => {});
  }

  /** Writes one batch; see the module doc for when the promise settles. */
  send(batch: T): Promise<void> {
    if (this.#closed) return Promise.reject(new UnavailableError("raft stream closed"));
    const s = this.#cur ?? this.#start();
    if (!s) {
      return Promise.reject(
        new UnavailableError(
          `raft stream to peer failed; reopening in ${
            Math.ceil(this.#retryAt - performance.now())
          } ms`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let flushed = false;
      let drained = true;
      const p: Pending = {
        reject,
        timer: setTimeout(() => {
          this.#fail(
            s,
            new UnavailableError(`raft stream write not flushed within ${this.#writeTimeoutMs} ms`),
          );
        }, this.#writeTimeoutMs),
      };
      const settle = () => {
        if (!flushed || !drained || !s.pending.delete(p)) return;
        clearTimeout(p.timer);
        resolve();
      };
      s.pending.add(p);
      const ok = s.call.write(batch, (err) => {
        if (err) return this.#fail(s, err);
        flushed = true;
        settle();
      });
      if (!ok) {
        drained = false;
        s.call.once("drain", () => {
          drained = true;
          settle();
        });
      }
    });
  }

  /** Batches written but not yet flushed. */
  get pending(): number {
    return this.#cur?.pending.size ?? 0;
  }

  /** Cancels the stream (pending batches reject) and refuses new ones. */
  close(): void {
    this.#closed = true;
    if (this.#cur) this.#fail(this.#cur, new UnavailableError("raft stream closed"), false);
  }

  #start(): Open<T> | undefined {
    const now = performance.now();
    if (now < this.#retryAt) return undefined;
    const s: Open<T> = {
      call: undefined as unknown as WritableCall<T>,
      openedAt: now,
      pending: new Set(),
      ended: false,
    };
    s.call = this.#open((err) => {
      if (s.ended) return;
      this.#fail(s, err ?? new UnavailableError("raft stream ended by the peer"), err !== null);
    });
    // Writes on an ended stream may emit 'error'; the end callback already reported it.
    s.call.on("error", () => {});
    this.#cur = s;
    this.opened++;
    return s;
  }

  /** Ends `s`: cancels it, rejects its pending batches and schedules the reopen. */
  #fail(s: Open<T>, err: Error, backoff = true): void {
    if (s.ended) return;
    s.ended = true;
    if (this.#cur === s) this.#cur = undefined;
    const now = performance.now();
    if (backoff) {
      // A stream that lived a while was healthy: start over from the shortest wait.
      if (now - s.openedAt > this.#maxBackoffMs) this.#backoffMs = this.#initialBackoffMs;
      this.#retryAt = now + this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    }
    try {
      s.call.cancel();
    } catch { /* already finished */ }
    for (const p of s.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    s.pending.clear();
    if (backoff) this.#onStreamError(err);
  }
}

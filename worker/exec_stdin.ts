/**
 * An exec's stdin as the tunnel feeds it (tunnel_requests.ts): chunks are written to the process
 * in order, and, when the leader keeps to a credit window (see warren.proto, TunnelService), the
 * bytes the process took are given back as credit, like HTTP/2's WINDOW_UPDATE.
 *
 * ```
 *  leader ──stdin (≤ window − unacked)──▶ buffered ──writer.write resolves──▶ taken
 *     ▲                                                                        │
 *     └──────────── stdin_credit(taken), once taken ≥ window / 4 ◀─────────────┘
 * ```
 *
 * So what waits here for a process that does not read its stdin is at most one window: the
 * leader stops sending, and the caller's own stream backs up, not the shared tunnel. A leader
 * that never accepted credits (older versions) is not metered: its stdin is buffered unbounded,
 * as before.
 * @module
 */
import { ResourceExhaustedError } from "../proto/errors.ts";

/** Options of an {@link ExecStdin}. */
export interface ExecStdinOptions {
  /** The window the leader keeps to; absent: unmetered (a leader without credits). */
  windowBytes?: number;
  /** Gives `bytes` of credit back to the leader. */
  credit(bytes: number): void;
}

/** One exec's stdin: ordered writes, buffered bytes counted, credit given back. */
export class ExecStdin {
  readonly #o: ExecStdinOptions;
  #attach!: (w: WritableStreamDefaultWriter<Uint8Array>) => void;
  /** Every write and the close, in order, once a writer is attached. */
  #chain: Promise<WritableStreamDefaultWriter<Uint8Array>>;
  #closed = false;
  #stopped = false;
  /** Received and not yet taken by the process. */
  #buffered = 0;
  /** Received and not yet given back as credit (what the leader counts against its window). */
  #unacked = 0;
  /** Taken by the process and not yet given back. */
  #taken = 0;

  constructor(o: ExecStdinOptions) {
    this.#o = o;
    this.#chain = new Promise((r) => (this.#attach = r));
  }

  /** Bytes received that the process has not taken yet. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Starts writing to the process's stdin (what arrived before waits until then). */
  attach(writer: WritableStreamDefaultWriter<Uint8Array>): void {
    this.#attach(writer);
  }

  /**
   * Queues `data` for the process (ignored once closed).
   * @throws ResourceExhaustedError when the leader sent beyond its window: a leader that broke
   * the protocol must not make the buffer unbounded.
   */
  write(data: Uint8Array): void {
    if (this.#closed) return;
    const n = data.byteLength;
    const window = this.#o.windowBytes;
    if (window !== undefined && this.#unacked + n > window) {
      throw new ResourceExhaustedError(
        `the leader sent ${this.#unacked + n} bytes of stdin against a window of ${window}`,
      );
    }
    this.#buffered += n;
    this.#unacked += n;
    const taken = () => this.#took(n);
    // A failed write (the process exited, its stdin is gone) also frees the buffer.
    this.#chain = this.#chain.then((w) => w.write(data).then(taken, taken).then(() => w));
  }

  /** Closes the process's stdin after what is queued; later writes are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#chain.then((w) => w.close()).catch(() => {});
  }

  /** No more credit is given (the stream is over). */
  stop(): void {
    this.#stopped = true;
  }

  #took(n: number): void {
    this.#buffered -= n;
    const window = this.#o.windowBytes;
    if (window === undefined) return;
    this.#taken += n;
    // Batched like WINDOW_UPDATE. Never stalls: while the leader has no window left, unacked is
    // the whole window, so either the process took a quarter of it (credit goes now) or more
    // than three quarters still wait here for the process to read.
    if (this.#stopped || this.#taken < Math.max(1, Math.floor(window / 4))) return;
    const credit = this.#taken;
    this.#taken = 0;
    this.#unacked -= credit;
    this.#o.credit(credit);
  }
}

/**
 * The leader's side of an exec stream's stdin credit (see warren.proto, TunnelService): stdin
 * goes down the tunnel only within the window the worker granted, split to fit it; the rest
 * waits here until the worker gives credit back. A caller awaits each {@link StdinWindow.write}
 * before it reads more of its own stream, so what waits here is one caller message, and what
 * waits in the worker at most one window.
 * @module
 */

/** What a {@link StdinWindow} sends on. */
export interface StdinWindowSink {
  stdin(chunk: Uint8Array): void;
  closeStdin(): void;
}

interface Pending {
  data: Uint8Array;
  sent: () => void;
}

/** Stdin of one exec stream, metered by the worker's credit. */
export class StdinWindow {
  readonly #sink: StdinWindowSink;
  /** Bytes the worker will still take; Infinity for a worker without credits (unmetered). */
  #available: number;
  readonly #pending: Pending[] = [];
  #closeAfter = false;
  #ended = false;

  /** `windowBytes` is what the worker offered; absent (older workers): unmetered. */
  constructor(windowBytes: number | undefined, sink: StdinWindowSink) {
    this.#available = windowBytes ?? Infinity;
    this.#sink = sink;
  }

  /** Stdin bytes waiting here for credit. */
  get pendingBytes(): number {
    let n = 0;
    for (const p of this.#pending) n += p.data.byteLength;
    return n;
  }

  /** Bytes that may go down now. */
  get availableBytes(): number {
    return this.#available;
  }

  /** Sends `data` as the window allows; resolves once all of it went, or the stream ended. */
  write(data: Uint8Array): Promise<void> {
    if (this.#ended || this.#closeAfter || data.byteLength === 0) return Promise.resolve();
    return new Promise((sent) => {
      this.#pending.push({ data, sent });
      this.#flush();
    });
  }

  /** Closes the worker's stdin after the stdin written before. */
  closeStdin(): void {
    if (this.#ended || this.#closeAfter) return;
    this.#closeAfter = true;
    this.#flush();
  }

  /** The worker's stdin took `bytes` more: send that much more. */
  credit(bytes: number): void {
    if (this.#ended) return;
    this.#available += bytes;
    this.#flush();
  }

  /** The stream is over: nothing more is sent, waiting writes resolve. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const p of this.#pending.splice(0)) p.sent();
  }

  #flush(): void {
    while (this.#pending.length > 0 && this.#available > 0) {
      const p = this.#pending[0]!;
      const n = Math.min(p.data.byteLength, this.#available);
      this.#available -= n;
      this.#sink.stdin(n === p.data.byteLength ? p.data : p.data.subarray(0, n));
      if (n < p.data.byteLength) {
        p.data = p.data.subarray(n);
        continue;
      }
      this.#pending.shift();
      p.sent();
    }
    if (this.#closeAfter && this.#pending.length === 0 && !this.#ended) {
      this.#ended = true;
      this.#sink.closeStdin();
    }
  }
}

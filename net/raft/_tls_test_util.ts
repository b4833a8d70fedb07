/**
 * Test helpers for the framed Raft transport: an inbox that resolves when messages arrive, and a
 * logger that keeps what it was told. Tests only (certificates come from manager/security/ca.ts,
 * which only the _test.ts files may import).
 * @module
 */
import type { Logger } from "../../proto/log.ts";

/** Collects received messages; `waitFor(n)` resolves once `n` have arrived. */
export class Inbox {
  readonly messages: { from: string; msg: Uint8Array }[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  readonly onMessages = (from: string, msgs: Uint8Array[]): void => {
    for (const msg of msgs) this.messages.push({ from, msg });
    this.#waiters = this.#waiters.filter((w) => {
      if (this.messages.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves true once `n` messages arrived, false after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 10_000): Promise<boolean> {
    if (this.messages.length >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      });
    });
  }
}

/** Resolves with the next value `subscribe` delivers. */
export function next<T>(subscribe: (cb: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => subscribe(resolve));
}

/** A logger that records lines instead of printing them; `onLine` sees each as it comes. */
export function recordingLogger(
  lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [],
  onLine: (msg: string, fields: Record<string, unknown>) => void = () => {},
): Logger & { lines: typeof lines } {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, msg, fields });
    onLine(msg, fields);
  };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    with: () => recordingLogger(lines, onLine),
  };
}

/** A 4-byte big-endian message carrying `i`. */
export function numbered(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

/** The number carried by {@link numbered}. */
export function numberOf(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

/**
 * The replicated application of the simulator: a string key-value store with get, put and
 * compare-and-set, plus per-client sessions that de-duplicate retried proposals (a client retries
 * with the same request id; the entry may then be committed twice, but applies once).
 * @module
 */
import type { KvInput, KvOutput } from "./kv_model.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client command as stored in a log entry. */
export interface KvCommand {
  clientId: number;
  requestId: number;
  input: KvInput;
}

/** Encodes a command as entry data. */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify([cmd.clientId, cmd.requestId, cmd.input]));
}

/** Decodes entry data written by {@link encodeCommand}. */
export function decodeCommand(data: Uint8Array): KvCommand {
  const [clientId, requestId, input] = JSON.parse(dec.decode(data)) as [number, number, KvInput];
  return { clientId, requestId, input };
}

/** The last request a client had applied, and its answer (returned again to a retry). */
interface Session {
  requestId: number;
  output: KvOutput;
}

/** The store. Deterministic: the same commands in the same order give the same state. */
export class KvStateMachine {
  #data = new Map<string, string>();
  #sessions = new Map<number, Session>();

  /**
   * Applies a command. Returns its output, the cached output for a retry of the client's last
   * request, or undefined for a stale retry of an older request (which must not take effect).
   */
  apply(cmd: KvCommand): KvOutput | undefined {
    const s = this.#sessions.get(cmd.clientId);
    if (s && cmd.requestId === s.requestId) return s.output;
    if (s && cmd.requestId < s.requestId) return undefined;
    const output = this.#execute(cmd.input);
    this.#sessions.set(cmd.clientId, { requestId: cmd.requestId, output });
    return output;
  }

  #execute(input: KvInput): KvOutput {
    switch (input.op) {
      case "get":
        return { value: this.get(input.key) };
      case "put":
        this.#data.set(input.key, input.value);
        return { ok: true };
      case "cas": {
        const ok = this.get(input.key) === input.expect;
        if (ok) this.#data.set(input.key, input.value);
        return { ok };
      }
    }
  }

  /** The current value of `key` (for reads served by ReadIndex). */
  get(key: string): string | null {
    return this.#data.get(key) ?? null;
  }

  /** A canonical encoding of the whole state (sorted), used as snapshot data and as a digest. */
  snapshot(): Uint8Array {
    return enc.encode(this.digest());
  }

  /** The canonical state as a string, to compare replicas at the same index. */
  digest(): string {
    const data = [...this.#data].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    const sessions = [...this.#sessions].sort(([a], [b]) => a - b);
    return JSON.stringify({ data, sessions });
  }

  /** Replaces the state with a snapshot's (empty data = the initial, empty state). */
  restore(data: Uint8Array): void {
    this.#data = new Map();
    this.#sessions = new Map();
    if (data.byteLength === 0) return;
    const parsed = JSON.parse(dec.decode(data)) as {
      data: [string, string][];
      sessions: [number, Session][];
    };
    this.#data = new Map(parsed.data);
    this.#sessions = new Map(parsed.sessions);
  }
}

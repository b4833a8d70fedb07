/**
 * A small key-value state machine and in-process cluster helpers for the Raft shell's tests and
 * the real-process manager used by the Raft integration test and benchmark.
 * @module
 */
import type { StateMachine } from "./state_machine.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** put: `{"k":..,"v":..}`; the result of apply is the previous value. */
export class KvStateMachine implements StateMachine {
  data = new Map<string, string>();
  appliedIndex = 0;

  apply(command: Uint8Array, index: number): unknown {
    const { k, v } = JSON.parse(dec.decode(command)) as { k: string; v: string };
    const prev = this.data.get(k) ?? null;
    this.data.set(k, v);
    this.appliedIndex = index;
    return prev;
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.data]));
  }
  restore(data: Uint8Array, index: number): void {
    this.data = data.byteLength ? new Map(JSON.parse(dec.decode(data))) : new Map();
    this.appliedIndex = index;
  }
}

/** Encodes a put command. */
export function put(k: string, v: string): Uint8Array {
  return enc.encode(JSON.stringify({ k, v }));
}

/**
 * What the Raft shell applies committed commands to, and how the shell bundles the cluster's
 * member addresses with the application's snapshot.
 * @module
 */

/** The replicated application. `apply` must be deterministic: same commands, same state. */
export interface StateMachine {
  /** Applies one committed command; the result goes to the proposer's waiting caller. */
  apply(command: Uint8Array, index: number): unknown;
  /** Serializes the whole state (taken at the last applied index). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot taken at `index`. */
  restore(data: Uint8Array, index: number): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Raft snapshot data: member addresses (so a restarted node can reach its peers) + app state. */
export function packSnapshot(members: Record<string, string>, app: Uint8Array): Uint8Array {
  const m = enc.encode(JSON.stringify(members));
  const out = new Uint8Array(4 + m.byteLength + app.byteLength);
  new DataView(out.buffer).setUint32(0, m.byteLength);
  out.set(m, 4);
  out.set(app, 4 + m.byteLength);
  return out;
}

/** Splits snapshot data made by {@link packSnapshot}. */
export function unpackSnapshot(
  data: Uint8Array,
): { members: Record<string, string>; app: Uint8Array } {
  if (data.byteLength === 0) return { members: {}, app: data };
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  return {
    members: JSON.parse(dec.decode(data.subarray(4, 4 + len))),
    app: data.subarray(4 + len),
  };
}

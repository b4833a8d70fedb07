/**
 * What the Raft shell applies committed commands to, and how the shell bundles the cluster's
 * member addresses with the application's snapshot.
 * @module
 */

/**
 * The replicated application. `apply` must be deterministic: same commands, same state. What it
 * throws is a refusal every node makes alike: the proposer gets the error and the log moves on.
 * Except a {@link HaltingError}: this node cannot apply what it was given (e.g. a command of a
 * newer feature level than its binary understands), so skipping it would make its state diverge;
 * the node stops instead, as it does when its storage fails.
 */
export interface StateMachine {
  /** Applies one committed command; the result goes to the proposer's waiting caller. */
  apply(command: Uint8Array, index: number): unknown;
  /** Serializes the whole state (taken at the last applied index). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot taken at `index` (may throw a HaltingError). */
  restore(data: Uint8Array, index: number): void;
}

/** An error after which this node must not apply anything more (see {@link StateMachine}). */
export interface HaltingError extends Error {
  readonly haltsNode: true;
}

/** Whether `err` must stop the node rather than be answered as a deterministic refusal. */
export function isHaltingError(err: unknown): err is HaltingError {
  return err instanceof Error && (err as Partial<HaltingError>).haltsNode === true;
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

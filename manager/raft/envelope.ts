/**
 * The envelope around each application command in the Raft log: which node proposed it and that
 * node's proposal sequence number, so the proposer can hand the apply result to the caller that
 * waits for it. Every node applies the payload alike; only the proposer resolves a waiter.
 * @module
 */

const VERSION = 1;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A decoded log command. */
export interface Envelope {
  proposer: string;
  seq: number;
  payload: Uint8Array;
}

/**
 * The last proposer id seen, encoded and decoded: a node seals only its own id, and a log holds
 * long stretches by one leader, so one cached pair saves a UTF-8 conversion per entry.
 */
let cachedId = "";
let cachedIdBytes = new Uint8Array();

function idBytes(proposer: string): Uint8Array {
  if (proposer !== cachedId) {
    cachedIdBytes = enc.encode(proposer);
    cachedId = proposer;
  }
  return cachedIdBytes;
}

function idString(bytes: Uint8Array): string {
  const c = cachedIdBytes;
  if (bytes.byteLength === c.byteLength) {
    let same = true;
    for (let i = 0; i < c.byteLength && same; i++) same = bytes[i] === c[i];
    if (same) return cachedId;
  }
  cachedIdBytes = bytes.slice();
  cachedId = dec.decode(bytes);
  return cachedId;
}

/** Wraps `payload` for the log. */
export function sealEnvelope(proposer: string, seq: number, payload: Uint8Array): Uint8Array {
  const id = idBytes(proposer);
  if (id.byteLength > 255) throw new RangeError("proposer id longer than 255 bytes");
  const out = new Uint8Array(1 + 1 + id.byteLength + 8 + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = id.byteLength;
  out.set(id, 2);
  view.setFloat64(2 + id.byteLength, seq);
  out.set(payload, 10 + id.byteLength);
  return out;
}

/** Unwraps a log command; undefined for the leader's empty no-op entries. */
export function openEnvelope(data: Uint8Array): Envelope | undefined {
  if (data.byteLength === 0) return undefined;
  if (data[0] !== VERSION || data.byteLength < 10) {
    throw new Error(
      `raft envelope: unknown version ${data[0]} or truncated (${data.byteLength} bytes)`,
    );
  }
  const idLen = data[1];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    proposer: idString(data.subarray(2, 2 + idLen)),
    seq: view.getFloat64(2 + idLen),
    payload: data.subarray(10 + idLen),
  };
}

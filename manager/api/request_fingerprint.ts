/**
 * Request fingerprints: what tells a client's retry of a write from another write that reuses
 * its request ID by mistake. A handler names the request as it understood it (the arguments it
 * was called with, parsed: `{ spec }`, `{ id, replicas }`), and the fingerprint is a digest of
 * that: the same for every attempt of one call, whichever manager serves it, and different for
 * another body or target. The FSM records it with the outcome (manager/state/fsm_requests.ts)
 * and refuses a repeat of the ID whose fingerprint differs, as the IETF idempotency-key draft
 * and Stripe do, instead of answering with the first request's outcome.
 *
 * A fingerprint is replicated and kept in snapshots: what it covers must not let a reader of a
 * snapshot check guesses of a secret's plaintext. Handlers pass such data as a keyed digest
 * (ClusterKeys.requestDigest), never as is.
 * @module
 */
import { createHash } from "node:crypto";
import { encodeBase64Url } from "../../proto/schema/base64.ts";
import type { CommandKind } from "../state/commands.ts";

/** Bytes of SHA-256 kept: 128 bits, so two different requests never share one by chance. */
const FINGERPRINT_BYTES = 16;

const enc = new TextEncoder();

/**
 * The fingerprint of a `kind` write asked for with `request` (plain data: objects, arrays,
 * strings, numbers, booleans, null; an undefined property counts as absent): 22 characters of
 * base64url, as `RequestFingerprintSchema` (manager/state/commands.ts) takes it.
 * @throws TypeError when `request` holds anything else (a handler's mistake)
 */
export function requestFingerprint(kind: CommandKind, request: unknown): string {
  // node:crypto's hash is synchronous: Web Crypto's digest is a round trip through a thread
  // pool (~40 µs awaited against ~10 µs here), on the path of every write.
  const digest = createHash("sha256").update(enc.encode(canonicalJson({ kind, request })))
    .digest();
  return encodeBase64Url(new Uint8Array(digest.buffer, digest.byteOffset, FINGERPRINT_BYTES));
}

/**
 * JSON of `v` with every object's keys sorted and undefined properties left out: one text for
 * equal data, whatever order its properties were set in (a REST body's, a converter's).
 * @throws TypeError for a value JSON has no single form of (bigint, function, a Map, NaN)
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new TypeError(`cannot fingerprint the number ${v}`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map((x) => x === undefined ? "null" : canonicalJson(x)).join(",")}]`;
  }
  if (typeof v === "object" && isPlainObject(v)) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  throw new TypeError(`cannot fingerprint a ${describe(v)}: pass plain data`);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object without a prototype";
}

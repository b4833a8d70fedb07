/**
 * Client sessions for the FSM (Raft dissertation §6.3): a client tags each write with a request
 * ID and sends the same ID on every retry of it. A write whose answer was lost (the leader died,
 * the connection dropped after the request went out) may have been applied already when the
 * retry comes; the FSM remembers what each ID came to and answers a repeat with that outcome
 * instead of applying the write a second time (a second create would fail as ALREADY_EXISTS, a
 * second update bump the version again and roll the tasks twice).
 *
 * Only a repeat of the same request gets that answer. An ID reused for another request (another
 * kind of write, or, from feature level 3, another request fingerprint: manager/api/
 * request_fingerprint.ts) is refused with RequestIdReusedError, applying nothing: answered with
 * the first outcome, a client would be told that a write succeeded that was never applied.
 * (Below level 3, another kind of write is refused with the ValidationError a level-2 manager
 * answers it with: managers of both binaries then apply one log and must answer alike.)
 *
 * The table is part of the replicated state and of snapshots, so every manager, and one restored
 * from a snapshot, answers a repeat alike. It is bounded by count: the last
 * {@link MAX_REMEMBERED_REQUESTS} IDs in log order; a repeat older than that applies as a new
 * write. Pure (checked by tests/arch_test.ts).
 * @module
 */
import {
  type ErrorCode,
  NotFoundError,
  RequestIdReusedError,
  toWarrenError,
  ValidationError,
  warrenErrorFromCode,
} from "../../proto/errors.ts";
import type { CommandKind } from "./commands.ts";
import type { ClusterState } from "./fsm_state.ts";
import { clusterSupports, REQUEST_FINGERPRINT_LEVEL } from "./fsm_feature_level.ts";

/**
 * How many request IDs the FSM remembers. A client repeats a write right after the connection
 * drops, or once a manager says the outcome is unknown (within its 10 s proposal timeout): this
 * covers minutes of writes at a few hundred a second (one client at a time) and ~7 s at the
 * highest rate measured here (~1,500 creates/s with 50 in flight; README.md), at about 100 bytes
 * of snapshot each (1 MB).
 */
export const MAX_REMEMBERED_REQUESTS = 10_000;

/** The object kinds whose writes answer with the object: a repeat answers with it as it is now. */
const OBJECT_KINDS = ["service", "node", "secret", "volume", "cluster"] as const;
type ObjectKind = typeof OBJECT_KINDS[number];

/**
 * What the first command with a request ID came to: enough to answer a repeat the same way.
 * `kind`: the command's kind (a repeat of the ID with another kind is a client's mistake, refused).
 * `fingerprint`: the command's `requestFingerprint`, the digest of the client's request
 * (absent in outcomes recorded before fingerprints, and for commands without one): a repeat with
 * another fingerprint is another request reusing the ID, refused too.
 * Success: `id`, the object the command wrote (the answer is that object as it is when the
 * repeat comes), or `value`, a number it answered with, or neither (it answered nothing).
 * Failure: the typed error, rebuilt for the repeat.
 */
export type RequestOutcome =
  & { kind: CommandKind; fingerprint?: string }
  & (
    | { ok: true; id?: string; value?: number }
    | { ok: false; code: ErrorCode; message: string; field?: string }
  );

/**
 * The outcome of applying a `kind` command that answered `result`; `fingerprint`, the command's
 * request fingerprint if it has one.
 */
export function succeeded(
  kind: CommandKind,
  result: unknown,
  fingerprint?: string,
): RequestOutcome {
  const fp = fingerprint === undefined ? {} : { fingerprint };
  if (typeof result === "number") return { kind, ...fp, ok: true, value: result };
  const id = (result as { id?: unknown } | undefined)?.id;
  if (typeof id === "string" && objectKind(kind) !== undefined) {
    return { kind, ...fp, ok: true, id };
  }
  return { kind, ...fp, ok: true };
}

/**
 * The outcome of a `kind` command that the FSM refused with `err`; `fingerprint`, the command's
 * request fingerprint if it has one.
 */
export function failed(kind: CommandKind, err: unknown, fingerprint?: string): RequestOutcome {
  const e = toWarrenError(err);
  return {
    kind,
    ...(fingerprint === undefined ? {} : { fingerprint }),
    ok: false,
    code: e.code,
    message: e.message,
    ...(e instanceof ValidationError ? { field: e.field } : {}),
  };
}

/**
 * Remembers `outcome` for `requestId` (not remembered yet), forgetting the oldest ID past
 * {@link MAX_REMEMBERED_REQUESTS}: a Map keeps insertion order, which is log order here, so
 * every manager forgets the same IDs.
 */
export function rememberRequest(
  s: ClusterState,
  requestId: string,
  outcome: RequestOutcome,
): void {
  s.requests.set(requestId, outcome);
  while (s.requests.size > MAX_REMEMBERED_REQUESTS) {
    s.requests.delete(s.requests.keys().next().value!);
  }
}

/** What a repeat of a request ID is, to tell whether it repeats the first request. */
export interface RepeatedRequest {
  /** The fingerprint of the repeat's request (the command's `requestFingerprint`), if any. */
  fingerprint?: string;
  /** The header that carried the ID, named in a refusal (absent: both are named). */
  header?: string;
}

/**
 * The answer to a repeat of `requestId` as a `kind` command: the first outcome's object as it is
 * in `s` now, its number or nothing; the first outcome's error is thrown again.
 * @throws the recorded error; RequestIdReusedError when the ID was used for another request (a
 *   command of another kind, or another fingerprint where both have one: an outcome or a command
 *   from before fingerprints is answered as before); below feature level 3, ValidationError for
 *   a command of another kind, as a level-2 manager answers it; NotFoundError when the object the
 *   first command wrote was deleted since
 */
export function replayRequest(
  s: Readonly<ClusterState>,
  requestId: string,
  outcome: RequestOutcome,
  kind: CommandKind,
  repeat: RepeatedRequest = {},
): unknown {
  if (outcome.kind !== kind && !clusterSupports(s, REQUEST_FINGERPRINT_LEVEL)) {
    // As a manager of level 2 answers it: until the cluster is at level 3, managers of both
    // binaries apply the same log, and must answer its entries alike.
    throw new ValidationError(
      "requestId",
      `${requestId} was used for a ${outcome.kind} already, not for a ${kind}: a new write needs a new request ID`,
    );
  }
  const reused = reuseOf(outcome, kind, repeat.fingerprint);
  if (reused !== undefined) throw requestIdReused(requestId, reused, repeat.header);
  if (!outcome.ok) {
    if (outcome.code !== "invalid_argument") {
      throw warrenErrorFromCode(outcome.code, outcome.message);
    }
    // The recorded message has the field in front already; ValidationError puts it there.
    const field = outcome.field ?? "";
    const prefix = `${field}: `;
    const reason = field && outcome.message.startsWith(prefix)
      ? outcome.message.slice(prefix.length)
      : outcome.message;
    throw new ValidationError(field, reason);
  }
  if (outcome.value !== undefined) return outcome.value;
  if (outcome.id === undefined) return undefined;
  const object = objectKind(kind)!;
  const found = currentObject(s, object, outcome.id);
  if (found === undefined) throw new NotFoundError(object, outcome.id);
  return found;
}

/**
 * How the request of a repeat (`kind`, `fingerprint`) differs from the first one (`outcome`), in
 * words, or undefined when it is the same request as far as both tell.
 */
function reuseOf(
  outcome: RequestOutcome,
  kind: CommandKind,
  fingerprint: string | undefined,
): string | undefined {
  if (outcome.kind !== kind) return `a ${outcome.kind}, and this is a ${kind}`;
  const both = outcome.fingerprint !== undefined && fingerprint !== undefined;
  if (both && outcome.fingerprint !== fingerprint) {
    return `a ${kind} with another body or target`;
  }
  return undefined;
}

/** The refusal of `requestId` reused for another request (`how`), naming its `header`. */
function requestIdReused(
  requestId: string,
  how: string,
  header: string | undefined,
): RequestIdReusedError {
  const name = header ?? "request ID";
  const where = header === undefined ? " (header Idempotency-Key or warren-request-id)" : "";
  return new RequestIdReusedError(
    `${name} "${requestId}"${where} was used for a different request already (${how}): this ` +
      `request was not applied. Send a new ${name} with a new request; only the same request ` +
      "sent again gets the first one's answer",
  );
}

function objectKind(kind: CommandKind): ObjectKind | undefined {
  const prefix = kind.slice(0, kind.indexOf("."));
  return (OBJECT_KINDS as readonly string[]).includes(prefix) ? prefix as ObjectKind : undefined;
}

function currentObject(s: Readonly<ClusterState>, kind: ObjectKind, id: string): unknown {
  switch (kind) {
    case "service":
      return s.services.get(id);
    case "node":
      return s.nodes.get(id);
    case "secret":
      return s.secrets.get(id);
    case "volume":
      return s.volumes.get(id);
    case "cluster":
      return s.cluster?.id === id ? s.cluster : undefined;
  }
}

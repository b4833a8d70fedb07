/**
 * Client sessions for the FSM (Raft dissertation §6.3): a client tags each write with a request
 * ID and sends the same ID on every retry of it. A write whose answer was lost (the leader died,
 * the connection dropped after the request went out) may have been applied already when the
 * retry comes; the FSM remembers what each ID came to and answers a repeat with that outcome
 * instead of applying the write a second time (a second create would fail as ALREADY_EXISTS, a
 * second update bump the version again and roll the tasks twice).
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
  toWarrenError,
  ValidationError,
  warrenErrorFromCode,
} from "../../proto/errors.ts";
import type { CommandKind } from "./commands.ts";
import type { ClusterState } from "./fsm_state.ts";

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
 * Success: `id`, the object the command wrote (the answer is that object as it is when the
 * repeat comes), or `value`, a number it answered with, or neither (it answered nothing).
 * Failure: the typed error, rebuilt for the repeat.
 */
export type RequestOutcome =
  | { kind: CommandKind; ok: true; id?: string; value?: number }
  | { kind: CommandKind; ok: false; code: ErrorCode; message: string; field?: string };

/** The outcome of applying a `kind` command that answered `result`. */
export function succeeded(kind: CommandKind, result: unknown): RequestOutcome {
  if (typeof result === "number") return { kind, ok: true, value: result };
  const id = (result as { id?: unknown } | undefined)?.id;
  if (typeof id === "string" && objectKind(kind) !== undefined) return { kind, ok: true, id };
  return { kind, ok: true };
}

/** The outcome of a `kind` command that the FSM refused with `err`. */
export function failed(kind: CommandKind, err: unknown): RequestOutcome {
  const e = toWarrenError(err);
  return {
    kind,
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

/**
 * The answer to a repeat of `requestId` as a `kind` command: the first outcome's object as it is
 * in `s` now, its number or nothing; the first outcome's error is thrown again.
 * @throws the recorded error; ValidationError when the ID was used for a command of another
 *   kind; NotFoundError when the object the first command wrote was deleted since
 */
export function replayRequest(
  s: Readonly<ClusterState>,
  requestId: string,
  outcome: RequestOutcome,
  kind: CommandKind,
): unknown {
  if (outcome.kind !== kind) {
    throw new ValidationError(
      "requestId",
      `${requestId} was used for a ${outcome.kind} already, not for a ${kind}: a new write needs a new request ID`,
    );
  }
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

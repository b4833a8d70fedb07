/**
 * What every API handler works with: the replicated store to read, the Raft node to write
 * through, and injected time and IDs. Handlers are transport-free (gRPC and REST call the same
 * functions) and speak domain types.
 * @module
 */
import type { Store } from "../state/store.ts";
import type { RaftNode } from "../raft/node.ts";
import {
  type Command,
  type CommandKind,
  encodeCommand,
  encodeValidatedCommand,
} from "../state/commands.ts";
import { replayRequest, type RequestOutcome } from "../state/fsm_requests.ts";
import { clusterSupports, REQUEST_FINGERPRINT_LEVEL } from "../state/fsm_feature_level.ts";
import { requestFingerprint } from "./request_fingerprint.ts";
import { NotFoundError, UnavailableError, ValidationError } from "../../proto/errors.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { ClusterKeys } from "../cluster_keys.ts";

/** Dependencies of the API handlers. */
export interface ApiContext {
  store: Store;
  raft: RaftNode;
  /** Milliseconds since the epoch (injected for tests). */
  now: () => number;
  /** A new unique object ID. */
  newId: () => string;
  /** This manager's node ID and version, reported in cluster info. */
  nodeId: string;
  version: string;
  /** Records how long a write took to commit and apply (metrics). */
  observeCommit?: (ms: number) => void;
  /** The cluster's keys (CA, data keys), once this manager can open them. */
  keys: () => Promise<ClusterKeys>;
  /** This manager's own key-encryption key under autolock (absent in some tests). */
  localKek?: LocalKekControl;
  /**
   * The client's request ID of the write being served (gRPC `warren-request-id`, REST
   * `Idempotency-Key`), on a per-call copy made by {@link withRequestId}: {@link write} puts it
   * in the command and {@link answerOnce} answers a repeat with the first outcome. Only for
   * handlers that make one replicated write, and answer with what it returned.
   */
  requestId?: string;
  /** The header that carried {@link requestId}, named when its reuse is refused. */
  requestIdHeader?: string;
  /**
   * The fingerprint of the request {@link requestId} came with (request_fingerprint.ts), on the
   * copy {@link answerOnce} hands its `run`: {@link write} puts it in the command.
   */
  requestFingerprint?: string;
}

/**
 * `ctx` for one call that carries `requestId`, sent in `header` (`ctx` itself when it carries
 * none).
 */
export function withRequestId(
  ctx: ApiContext,
  requestId: string | undefined,
  header?: string,
): ApiContext {
  if (requestId === undefined) return ctx;
  return header === undefined
    ? { ...ctx, requestId }
    : { ...ctx, requestId, requestIdHeader: header };
}

/**
 * Serves a write that a client may send again with the same request ID ({@link withRequestId})
 * after losing the answer: `run` checks the request and makes one `kind` write, through the
 * context it is given. A repeat of an ID the state remembers is answered with the first outcome
 * (manager/state/fsm_requests.ts) without running `run` again; so is a repeat whose `run` fails,
 * once the first attempt shows in the state: its checks may fail *because* the first attempt
 * applied (a repeated delete finds nothing to delete), and the read barrier they passed makes
 * the first attempt visible if it committed before. A repeat that comes before the first
 * attempt commits runs, and the FSM answers it from the table. `answer` turns the FSM's result
 * into the handler's (identity by default).
 *
 * `request` names what the client asked for (the handler's parsed arguments, plain data;
 * request_fingerprint.ts): from feature level 3 its fingerprint goes into the command, and the
 * ID reused with another request is refused (RequestIdReusedError, naming the header) instead of
 * answered with the first request's outcome: here when the state shows the first request
 * already, and by the FSM when both were proposed before either applied.
 */
export async function answerOnce<T>(
  ctx: ApiContext,
  kind: CommandKind,
  request: () => unknown,
  run: (ctx: ApiContext) => Promise<T>,
  answer: (result: unknown) => T = (result) => result as T,
): Promise<T> {
  const requestId = ctx.requestId;
  if (requestId === undefined) return await run(ctx);
  // The level is the state's at the call, and never goes down: a fingerprint is never set on a
  // cluster whose managers might not all record it.
  const fingerprint = clusterSupports(ctx.store.state, REQUEST_FINGERPRINT_LEVEL)
    ? requestFingerprint(kind, await request())
    : undefined;
  const repeat = { fingerprint, header: ctx.requestIdHeader };
  const replay = (first: RequestOutcome) =>
    answer(replayRequest(ctx.store.state, requestId, first, kind, repeat));
  const seen = ctx.store.state.requests.get(requestId);
  if (seen) return replay(seen);
  try {
    return await run(fingerprint === undefined ? ctx : { ...ctx, requestFingerprint: fingerprint });
  } catch (err) {
    const first = ctx.store.state.requests.get(requestId);
    if (!first) throw err;
    return replay(first);
  }
}

/** Whether this manager's key-encryption key is locked, and unlocking it (autolock). */
export interface LocalKekControl {
  locked(): Promise<boolean>;
  /** Throws UnauthenticatedError for a wrong key, FailedPreconditionError when not locked. */
  unlock(unlockKey: string): Promise<void>;
  /** Brings the key file in line with the applied autolock setting (resolves when written). */
  sync(): Promise<void>;
}

/** Options of {@link write}. */
export interface WriteOptions {
  /**
   * Every part of `cmd` was parsed by its schema already (see encodeValidatedCommand): skip
   * validating it again. Only for commands built from freshly validated input.
   */
  validated?: boolean;
}

/**
 * Replicates `cmd`, tagged with the call's request ID and request fingerprint if it has them,
 * and returns the FSM's result (throws the FSM's typed error on rejection).
 */
export async function write<T = unknown>(
  ctx: ApiContext,
  cmd: Command,
  opts: WriteOptions = {},
): Promise<T> {
  await leaderKnown(ctx);
  const t0 = performance.now();
  // The ID was parsed at the API's edge (net/grpc/request_id.ts), the fingerprint made by
  // request_fingerprint.ts: still "validated".
  const tagged = ctx.requestId === undefined ? cmd : {
    ...cmd,
    requestId: ctx.requestId,
    ...(ctx.requestFingerprint === undefined ? {} : { requestFingerprint: ctx.requestFingerprint }),
  };
  const data = opts.validated ? encodeValidatedCommand(tagged) : encodeCommand(tagged);
  const result = await ctx.raft.propose(data) as T;
  ctx.observeCommit?.(performance.now() - t0);
  return result;
}

/** Waits until this manager reflects every write committed before the call, unless stale. */
export async function readBarrier(ctx: ApiContext, stale: boolean): Promise<ClusterState> {
  if (!stale) {
    // Like a write, a read that arrives during an election waits for it (bounded).
    await leaderKnown(ctx);
    await ctx.raft.read();
  }
  return ctx.store.state as ClusterState;
}

/** Finds an object by ID, else by unique name, else by a unique ID prefix (as Docker does). */
export function resolve<T>(
  byId: ReadonlyMap<string, T>,
  idByName: ReadonlyMap<string, string> | undefined,
  idOrName: string,
  kind: string,
): T {
  const direct = byId.get(idOrName);
  if (direct !== undefined) return direct;
  const id = idByName?.get(idOrName) ?? idByPrefix(byId.keys(), idOrName, kind);
  const found = id === undefined ? undefined : byId.get(id);
  if (found === undefined) throw new NotFoundError(kind, idOrName);
  return found;
}

/** Shortest ID prefix that finds an object: one character would match too much by accident. */
export const MIN_ID_PREFIX = 2;

/**
 * The one ID starting with `prefix` (`docker service ps 0jf2c`), undefined when none does or
 * `prefix` is shorter than {@link MIN_ID_PREFIX}.
 * @throws ValidationError naming the matches when several IDs start with it
 */
export function idByPrefix(
  ids: Iterable<string>,
  prefix: string,
  kind: string,
): string | undefined {
  if (prefix.length < MIN_ID_PREFIX) return undefined;
  const matches: string[] = [];
  for (const id of ids) if (id.startsWith(prefix)) matches.push(id);
  if (matches.length > 1) {
    throw new ValidationError(
      kind,
      `ID prefix "${prefix}" is ambiguous: ${matches.length} ${kind}s have it (${
        matches.sort().slice(0, 5).join(", ")
      }${matches.length > 5 ? ", ..." : ""}); give more of the ID`,
    );
  }
  return matches[0];
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Random 20-character lowercase IDs (103 bits), like Swarm's. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let s = "";
  for (const b of bytes) s += ALPHABET[b % 36];
  return s;
}

/** How long a write waits for an election to finish before failing as unavailable. */
const ELECTION_WAIT_MS = 3000;

/**
 * Waits (bounded) until some manager leads: a write that arrives during an election (a few
 * hundred milliseconds with the default timeouts) then succeeds instead of failing. Still no
 * leader after that: UnavailableError naming the likely cause, a lost quorum.
 */
function leaderKnown(ctx: ApiContext): Promise<void> {
  if (ctx.raft.leader.leaderId !== "") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      const voters = ctx.raft.status().config.voters.length;
      reject(
        new UnavailableError(
          `no quorum: no manager has been leader for ${ELECTION_WAIT_MS} ms; a majority ` +
            `(${Math.floor(voters / 2) + 1} of ${voters}) of the managers must be up and ` +
            "reachable for changes to be accepted",
        ),
      );
    }, ELECTION_WAIT_MS);
    const off = ctx.raft.onLeaderChange((l) => {
      if (l.leaderId === "") return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

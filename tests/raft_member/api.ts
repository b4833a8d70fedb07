/**
 * The client HTTP API of a Raft test member: puts are Raft proposals, gets are linearizable
 * (ReadIndex through `node.read()`), and membership calls go to the node. Errors map to HTTP by
 * their typed code (never by message text) and carry the leader the node knows, so a client can
 * redirect.
 *
 * ```
 * POST /put          {k, v}          → 200 {prev}         (applied on this member)
 * POST /put-many     {puts:[{k,v}]}  → 200 {results:[{ok,prev?,error?,code?}]}  one proposal each
 * GET  /get?k=K                      → 200 {k, v|null}    (linearizable)
 * GET  /status                       → 200 MemberStatus
 * POST /add-learner  {id, addr}      → 200 {}
 * POST /promote      {id}            → 200 {}
 * ```
 * Puts are refused with 503 `not_leader` (naming the leader) on followers, so clients find the
 * leader fast after a failover; with `?forward=1` a follower proposes anyway and Raft forwards
 * the proposal to the leader.
 * @module
 */
import type { RaftNode } from "../../manager/raft/node.ts";
import type { PeerConnStats, TlsRaftTransport } from "../../net/raft/tls_transport.ts";
import type { KvStateMachine } from "../../manager/raft/_kv_sm_test_util.ts";
import { put } from "../../manager/raft/_kv_sm_test_util.ts";
import { type ErrorCode, ValidationError, WarrenError } from "../../proto/errors.ts";

/** What `GET /status` returns. */
export interface MemberStatus {
  id: string;
  /** The leader this member knows ("" when none). */
  leader: string;
  isLeader: boolean;
  term: number;
  commit: number;
  applied: number;
  /** Known member addresses (voters and learners). */
  members: Record<string, string>;
  voters: string[];
  learners: string[];
  /** OS process id, so benchmarks can read the leader's RSS. */
  pid: number;
  /** Outbound Raft traffic per peer (messages, socket writes, drops, failed connections). */
  transport: Record<string, PeerConnStats>;
}

/** An error answer: the typed code and the leader known to the member. */
export interface ApiError {
  error: string;
  code: ErrorCode | "internal";
  leader: string;
}

const HTTP_BY_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  unavailable: 503,
  not_leader: 503,
  resource_exhausted: 429,
  deadline_exceeded: 504,
};

/** Builds the request handler for `Deno.serve`. */
export function memberApi(
  node: RaftNode,
  sm: KvStateMachine,
  transport: TlsRaftTransport,
): (req: Request) => Promise<Response> {
  const fail = (err: unknown): Response => {
    const code = err instanceof WarrenError ? err.code : "internal";
    const body: ApiError = {
      error: err instanceof Error ? err.message : String(err),
      code,
      leader: node.leader.leaderId,
    };
    return Response.json(body, { status: HTTP_BY_CODE[code as ErrorCode] ?? 500 });
  };
  const putOne = async (body: unknown) => {
    const { k, v } = body as { k?: unknown; v?: unknown };
    if (typeof k !== "string" || k === "") throw new ValidationError("k", "must be a string");
    if (typeof v !== "string") throw new ValidationError("v", "must be a string");
    return await node.propose(put(k, v));
  };

  return async (req) => {
    // The path by hand: a full URL parse per request is a measurable part of a put's CPU.
    const pathStart = req.url.indexOf("/", req.url.indexOf("//") + 2);
    const q = req.url.indexOf("?", pathStart);
    const pathname = q < 0 ? req.url.slice(pathStart) : req.url.slice(pathStart, q);
    const searchParams = new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1));
    try {
      if (pathname.startsWith("/put") && !searchParams.has("forward")) {
        node.assertLeader();
      }
      switch (`${req.method} ${pathname}`) {
        case "POST /put": {
          const body = await req.json();
          const t0 = performance.now();
          const prev = await putOne(body);
          // Server-Timing separates the Raft commit from the client's HTTP round trip.
          return Response.json({ prev }, {
            headers: { "server-timing": `raft;dur=${(performance.now() - t0).toFixed(3)}` },
          });
        }
        case "POST /put-many": {
          const { puts } = await req.json() as { puts?: unknown };
          if (!Array.isArray(puts)) throw new ValidationError("puts", "must be an array");
          // Each put is its own proposal; they are in flight together, like concurrent clients.
          const settled = await Promise.allSettled(puts.map(putOne));
          return Response.json({
            results: settled.map((s) =>
              s.status === "fulfilled" ? { ok: true, prev: s.value } : {
                ok: false,
                error: String(s.reason?.message ?? s.reason),
                code: s.reason instanceof WarrenError ? s.reason.code : "internal",
              }
            ),
          });
        }
        case "GET /get": {
          const k = searchParams.get("k");
          if (!k) throw new ValidationError("k", "query parameter is required");
          await node.read();
          return Response.json({ k, v: sm.data.get(k) ?? null });
        }
        case "GET /status": {
          const st = node.status();
          const body: MemberStatus = {
            id: node.id,
            leader: node.leader.leaderId,
            isLeader: node.leader.isLeader,
            term: st.term,
            commit: st.commit,
            applied: node.appliedIndex,
            members: node.members,
            voters: [...st.config.voters].sort(),
            learners: [...st.config.learners].sort(),
            pid: Deno.pid,
            transport: transport.stats(),
          };
          return Response.json(body);
        }
        case "POST /add-learner": {
          const { id, addr } = await req.json() as { id?: unknown; addr?: unknown };
          if (typeof id !== "string" || !id) throw new ValidationError("id", "must be a string");
          if (typeof addr !== "string" || !addr) {
            throw new ValidationError("addr", "must be host:port");
          }
          await node.addLearner(id, addr);
          return Response.json({});
        }
        case "POST /promote": {
          const { id } = await req.json() as { id?: unknown };
          if (typeof id !== "string" || !id) throw new ValidationError("id", "must be a string");
          await node.promote(id);
          return Response.json({});
        }
        default:
          return Response.json({ error: `no route ${req.method} ${pathname}` }, {
            status: 404,
          });
      }
    } catch (err) {
      if (err instanceof SyntaxError) return fail(new ValidationError("body", "must be JSON"));
      return fail(err);
    }
  };
}

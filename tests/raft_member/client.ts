/**
 * HTTP client of a Raft test member's API (./api.ts). Calls never throw for a member that is
 * down or refuses: they return an outcome, because tests and benchmarks kill members on purpose.
 * Connections are kept alive (./http1_pool.ts), so a steady client reuses one TCP connection per
 * in-flight call; {@link MemberClient.close} closes them.
 * @module
 */
import type { ApiError, MemberStatus } from "./api.ts";
import { headerValue, Http1Pool } from "./http1_pool.ts";

/** The outcome of one call: the body on 2xx, else the HTTP status (0 = no answer) and error. */
export type Outcome<T> =
  | { ok: true; value: T; serverMs?: number }
  | { ok: false; status: number; code: string; leader: string; error: string };

/** One result of `POST /put-many`. */
export interface PutResult {
  ok: boolean;
  prev?: string | null;
  error?: string;
  code?: string;
}

/** Calls one member's client API at `baseUrl`. */
export class MemberClient {
  readonly #pool: Http1Pool;

  /** `baseUrl` is `http://HOST:PORT`. */
  constructor(readonly baseUrl: string, readonly timeoutMs = 8_000) {
    const url = new URL(baseUrl);
    this.#pool = new Http1Pool(url.hostname, Number(url.port || 80));
  }

  /** Closes the kept-alive connections; later calls answer `unreachable`. */
  close(): void {
    this.#pool.close();
  }

  /**
   * Proposes `k = v`; ok once applied on the member (the previous value is returned). Followers
   * refuse with `not_leader` unless `forward` (then Raft forwards the proposal to the leader).
   */
  put(
    k: string,
    v: string,
    opts: { forward?: boolean } = {},
  ): Promise<Outcome<{ prev: string | null }>> {
    return this.#call("POST", opts.forward ? "/put?forward=1" : "/put", { k, v });
  }

  /** Proposes each put separately (all in flight together) in one HTTP request. */
  putMany(
    puts: { k: string; v: string }[],
    opts: { forward?: boolean } = {},
  ): Promise<Outcome<{ results: PutResult[] }>> {
    return this.#call("POST", opts.forward ? "/put-many?forward=1" : "/put-many", { puts });
  }

  /** Linearizable read of `k`. */
  get(k: string): Promise<Outcome<{ k: string; v: string | null }>> {
    return this.#call("GET", `/get?k=${encodeURIComponent(k)}`);
  }

  /** The member's Raft status. */
  status(): Promise<Outcome<MemberStatus>> {
    return this.#call("GET", "/status");
  }

  /** Adds a learner (call on the leader). */
  addLearner(id: string, addr: string): Promise<Outcome<unknown>> {
    return this.#call("POST", "/add-learner", { id, addr });
  }

  /** Promotes a learner to voter (call on the leader). */
  promote(id: string): Promise<Outcome<unknown>> {
    return this.#call("POST", "/promote", { id });
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<Outcome<T>> {
    let res;
    try {
      res = await this.#pool.request(
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
        this.timeoutMs,
      );
    } catch (err) {
      return { ok: false, status: 0, code: "unreachable", leader: "", error: String(err) };
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch (err) {
      return { ok: false, status: res.status, code: "bad_body", leader: "", error: String(err) };
    }
    if (res.status >= 200 && res.status < 300) {
      // Server-Timing (`raft;dur=MS`) tells the time the member spent, without HTTP.
      const timing = /dur=([\d.]+)/.exec(headerValue(res.headers, "server-timing") ?? "");
      return { ok: true, value: json as T, serverMs: timing ? Number(timing[1]) : undefined };
    }
    const e = json as Partial<ApiError>;
    return {
      ok: false,
      status: res.status,
      code: e.code ?? "unknown",
      leader: e.leader ?? "",
      error: e.error ?? "",
    };
  }
}

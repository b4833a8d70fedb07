/**
 * Writes to whichever member leads: follows `not_leader` hints, moves on from members that do
 * not answer, and retries until a deadline. This is how a client rides through a failover.
 * @module
 */
import type { MemberClient, Outcome } from "./client.ts";

/** Options of {@link LeaderClient}. */
export interface LeaderClientOptions {
  /** The members to try, by id (read on every attempt: members come and go). */
  members: () => Map<string, MemberClient>;
  /** Pause after a full round of members refused. Default 5 ms. */
  retryPauseMs?: number;
}

/** A failed write: the last refusal seen before the deadline. */
export interface WriteFailure {
  ok: false;
  attempts: number;
  last: Outcome<unknown>;
}

/** Sends writes to the current leader. */
export class LeaderClient {
  readonly #o: LeaderClientOptions;
  #current = "";

  constructor(opts: LeaderClientOptions) {
    this.#o = opts;
  }

  /** The member the next write goes to first. */
  get current(): string {
    return this.#current;
  }

  /**
   * Puts `k = v` on the leader, retrying refusals until `timeoutMs`. A write whose answer was
   * lost may still be applied; the caller only counts `ok` answers as acknowledged.
   */
  async put(
    k: string,
    v: string,
    timeoutMs = 10_000,
  ): Promise<{ ok: true; via: string; attempts: number } | WriteFailure> {
    const deadline = performance.now() + timeoutMs;
    let last: Outcome<unknown> = {
      ok: false,
      status: 0,
      code: "none",
      leader: "",
      error: "no member",
    };
    let hops = 0;
    for (let attempts = 1;; attempts++) {
      const members = this.#o.members();
      const ids = [...members.keys()];
      if (!members.has(this.#current)) this.#current = ids[0] ?? "";
      const client = members.get(this.#current);
      if (client) {
        const r = await client.put(k, v);
        if (r.ok) return { ok: true, via: this.#current, attempts };
        last = r;
        // Follow a hint to another live member, at most once per member before pausing.
        if (r.code === "not_leader" && members.has(r.leader) && r.leader !== this.#current) {
          this.#current = r.leader;
          if (++hops < ids.length) continue;
        } else {
          const i = ids.indexOf(this.#current);
          this.#current = ids[(i + 1) % ids.length];
          if (++hops < ids.length) continue;
        }
      }
      hops = 0;
      if (performance.now() > deadline) return { ok: false, attempts, last };
      await new Promise((r) => setTimeout(r, this.#o.retryPauseMs ?? 5));
    }
  }
}

/**
 * Load shapes of the Raft benchmark: sequential puts, puts with N in flight, and leader kills.
 * Every put is one Raft proposal answered once applied on the leader.
 * @module
 */
import type { ProcessCluster } from "../raft_member/cluster.ts";
import type { MemberClient, Outcome } from "../raft_member/client.ts";
import { LeaderClient } from "../raft_member/leader_client.ts";

/** Latencies of one load run. */
export interface LoadResult {
  /** Client-observed latency of each acknowledged put (HTTP round trip included), ms. */
  latenciesMs: number[];
  /** Time the leader spent per put from propose to applied (Server-Timing), ms. */
  serverMs: number[];
  acked: number;
  failed: number;
  /** Attempts refused (e.g. `not_leader` after a leader change) and retried. */
  retries: number;
  elapsedMs: number;
  /** The first few failures, for the log. */
  errors: string[];
}

/**
 * `total` puts spread over `inFlight` concurrent callers, each waiting for its answer, sent to
 * the member `leaderId`. A refused put (the leader changed) follows the `not_leader` hint and is
 * retried for up to `retryForMs`; its latency then includes the wait.
 */
export async function putLoad(
  members: () => Map<string, MemberClient>,
  opts: {
    leaderId: string;
    total: number;
    inFlight: number;
    keyPrefix: string;
    signal: AbortSignal;
    retryForMs?: number;
  },
): Promise<LoadResult> {
  const r: LoadResult = {
    latenciesMs: [],
    serverMs: [],
    acked: 0,
    failed: 0,
    retries: 0,
    elapsedMs: 0,
    errors: [],
  };
  let leader = opts.leaderId;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < opts.total) {
      opts.signal.throwIfAborted();
      const i = next++;
      const t0 = performance.now();
      const deadline = t0 + (opts.retryForMs ?? 15_000);
      for (;;) {
        const client = members().get(leader);
        const res = client
          ? await client.put(`${opts.keyPrefix}${i % 1000}`, `v${i}`)
          : { ok: false as const, status: 0, code: "gone", leader: "", error: `${leader} is gone` };
        if (!res.ok && performance.now() < deadline) {
          opts.signal.throwIfAborted();
          r.retries++;
          if (res.code === "not_leader" && members().has(res.leader)) leader = res.leader;
          else await new Promise((done) => setTimeout(done, 5));
          continue;
        }
        record(res, t0);
        break;
      }
    }
  };
  const record = (res: Outcome<unknown>, t0: number) => {
    if (res.ok) {
      r.latenciesMs.push(performance.now() - t0);
      if (res.serverMs !== undefined) r.serverMs.push(res.serverMs);
      r.acked++;
    } else {
      r.failed++;
      if (r.errors.length < 5) r.errors.push(`${res.status} ${res.code}: ${res.error}`);
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, worker));
  r.elapsedMs = performance.now() - started;
  return r;
}

/** One leader kill: who died, who took over, and how long writes were refused. */
export interface FailoverRound {
  killed: string;
  newLeader: string;
  /** kill -9 → first put acknowledged by the new leader, ms. */
  failoverMs: number;
}

/**
 * Kills the leader with SIGKILL, measures until a put is acknowledged by a new leader, then
 * restarts the killed member from its data dir and waits until it has applied the leader's
 * commit index (so the next round starts from a full cluster).
 */
export async function failoverRound(
  cluster: ProcessCluster,
  opts: { round: number; signal: AbortSignal },
): Promise<FailoverRound> {
  const leader = await cluster.leader({ timeoutMs: 15_000 });
  const writer = new LeaderClient({
    members: () => new Map([...cluster.running].map(([id, m]) => [id, m.client])),
    retryPauseMs: 2,
  });
  const t0 = performance.now();
  await cluster.kill(leader.id);
  let newLeader = "";
  for (let i = 0; newLeader === "" || newLeader === leader.id; i++) {
    opts.signal.throwIfAborted();
    const r = await writer.put(`failover${opts.round}`, `try${i}`, 15_000);
    if (!r.ok) throw new Error(`no write acknowledged 15 s after killing ${leader.id}`);
    newLeader = r.via;
  }
  const failoverMs = performance.now() - t0;
  await cluster.start(leader.id);
  const st = await cluster.leader({ timeoutMs: 15_000 });
  await cluster.waitApplied(leader.id, st.commit, 30_000);
  return { killed: leader.id, newLeader, failoverMs };
}

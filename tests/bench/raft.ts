/**
 * The `raft` benchmark suite: three Raft members as OS processes on loopback (Deno KV storage,
 * 50 ms ticks, the default election timeout), driven over HTTP keep-alive from this process.
 * Metrics (see README.md): commit latency one at a time, throughput and latency with 50 in flight,
 * failover time over repeated kill -9 of the leader, and the leader's RSS.
 * @module
 */
import { ProcessCluster } from "../raft_member/cluster.ts";
import type { BenchContext, BenchSuite } from "./_suite.ts";
import { percentile, round } from "./_stats.ts";
import { rssMib } from "./_proc.ts";
import { failoverRound, type LoadResult, putLoad } from "./_raft_load.ts";

function describe(name: string, r: LoadResult): string {
  return `${name}: ${r.acked} acked, ${r.failed} failed, ${r.retries} retried in ${
    round(r.elapsedMs / 1000)
  } s; ` +
    `client p50 ${round(percentile(r.latenciesMs, 50))} ms p99 ${
      round(percentile(r.latenciesMs, 99))
    } ms; leader propose→applied p50 ${round(percentile(r.serverMs, 50))} ms p99 ${
      round(percentile(r.serverMs, 99))
    } ms${r.errors.length ? `; errors: ${r.errors.join(" | ")}` : ""}`;
}

async function run(ctx: BenchContext): Promise<void> {
  const sequential = ctx.quick ? 200 : 2_000;
  const concurrent = ctx.quick ? 2_000 : 20_000;
  const rounds = ctx.quick ? 3 : 10;
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  ctx.log(`load average before the run: ${load.trim()}`);

  // Mutual TLS between members, as managers run Raft; WARREN_RAFT_MEMBER_TLS=0 measures plain TCP.
  const tls = Deno.env.get("WARREN_RAFT_MEMBER_TLS") !== "0";
  ctx.log(`members talk over ${tls ? "mutual TLS" : "plain TCP"}`);
  await using cluster = await ProcessCluster.create(["m1", "m2", "m3"], { tickMs: 50, tls });
  await cluster.form();
  let leader = await cluster.leader();
  ctx.log(`cluster formed; leader ${leader.id}`);
  const members = () => new Map([...cluster.running].map(([id, m]) => [id, m.client]));

  // Warm-up: JIT, connections, the first snapshot-free stretch of the log.
  await putLoad(members, {
    leaderId: leader.id,
    total: 200,
    inFlight: 10,
    keyPrefix: "warm",
    signal: ctx.signal,
  });

  leader = await cluster.leader();
  const seq = await putLoad(members, {
    leaderId: leader.id,
    total: sequential,
    inFlight: 1,
    keyPrefix: "seq",
    signal: ctx.signal,
  });
  ctx.log(describe("one at a time", seq));
  ctx.emit("commit_p50_ms", round(percentile(seq.latenciesMs, 50), 3), "ms");
  ctx.emit("commit_p99_ms", round(percentile(seq.latenciesMs, 99), 3), "ms");
  ctx.emit("commit_raft_p50_ms", round(percentile(seq.serverMs, 50), 3), "ms");
  ctx.emit("commit_per_s_c1", round(seq.acked / (seq.elapsedMs / 1000), 1), "1/s");

  leader = await cluster.leader();
  const c50 = await putLoad(members, {
    leaderId: leader.id,
    total: concurrent,
    inFlight: 50,
    keyPrefix: "c50-",
    signal: ctx.signal,
  });
  ctx.log(describe("50 in flight", c50));
  ctx.emit("commit_per_s_c50", round(c50.acked / (c50.elapsedMs / 1000), 1), "1/s");
  ctx.emit("commit_p99_ms_c50", round(percentile(c50.latenciesMs, 99), 3), "ms");
  ctx.emit("commit_raft_p99_ms_c50", round(percentile(c50.serverMs, 99), 3), "ms");
  ctx.emit("commit_failed", seq.failed + c50.failed, "count");
  // Refusals mean the leader changed under load (e.g. heartbeats starved of CPU).
  ctx.emit("commit_retries", seq.retries + c50.retries, "count");

  // RSS after the load, before the kills replace the leader process.
  leader = await cluster.leader();
  ctx.emit("rss_mb", round(await rssMib(cluster.member(leader.id).pid), 1), "MiB");

  const failovers: number[] = [];
  for (let round_ = 1; round_ <= rounds; round_++) {
    ctx.signal.throwIfAborted();
    const r = await failoverRound(cluster, { round: round_, signal: ctx.signal });
    failovers.push(r.failoverMs);
    ctx.log(
      `failover ${round_}/${rounds}: killed ${r.killed}, ${r.newLeader} acknowledged a write ` +
        `after ${round(r.failoverMs)} ms; ${r.killed} restarted and caught up`,
    );
  }
  ctx.emit("failover_ms_p50", round(percentile(failovers, 50), 1), "ms");
  ctx.emit("failover_ms_max", round(Math.max(...failovers), 1), "ms");

  leader = await cluster.leader();
  ctx.emit("rss_mb_after_failovers", round(await rssMib(cluster.member(leader.id).pid), 1), "MiB");
}

/** Registered in ./main.ts as `raft`. */
export const suite: BenchSuite = {
  description: "3 Raft members as processes (Deno KV, gRPC): commit latency, " +
    "throughput with 50 in flight, failover after kill -9, leader RSS",
  timeoutMs: 300_000,
  run,
};

/**
 * Committed placements: three in-process managers (real Raft over gRPC on loopback, Deno KV
 * storage) and 1,000 simulated workers (the real worker and agent over the fake runtime, node
 * records written through the leader) in a child process. Ten services of 1,000 replicas are created at
 * once; the leader's orchestrator schedules them through the plan applier, Raft commits the
 * placements, the dispatcher streams them to the workers, and the workers report them running.
 *
 * - `placements_per_s_committed`: 10,000 / (first create → every task assigned in the leader's
 *   applied state, i.e. committed by Raft);
 * - `converge_s_10k`: first create → every task reported running (committed);
 * - `manager_rss_mb_1k_nodes`: VmRSS of this process afterwards. It holds all three managers
 *   (and nothing else: the workers are in the child), so it bounds the leader's own RSS from
 *   above.
 * @module
 */
import { isTerminal, taskStateOrder } from "../../proto/schema/mod.ts";
import { configureLogging } from "../../proto/log.ts";
import { registerNodes, startSimManagers, until } from "../sim/workers/managers.ts";
import { spawnSimWorkers } from "../sim/workers/process.ts";
import { SIM_IMAGES } from "../sim/workers/images.ts";
import type { BenchContext } from "./_suite.ts";
import { percentile, round } from "./_stats.ts";

const ASSIGNED = taskStateOrder("assigned");

/** VmRSS of `pid` (default: this process), MiB. */
async function rssMb(pid = Deno.pid): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

/** Emits the committed metrics (see the module doc). `--quick`: 100 nodes, 1,000 tasks. */
export async function committedThroughput(ctx: BenchContext): Promise<void> {
  const nodes = ctx.quick ? 100 : 1_000;
  const services = 10;
  const replicas = ctx.quick ? 100 : 1_000;
  const total = services * replicas;
  ctx.log(`load average before the committed run: ${await Deno.readTextFile("/proc/loadavg")}`);
  configureLogging({ level: "error" });
  await using m = await startSimManagers({
    count: 3,
    tickMs: 50,
    // Swarm's heartbeat period: 1,000 nodes heartbeat 200 times a second.
    dispatcher: { heartbeatPeriodMs: 5_000, batchMs: 20 },
    orchestrator: { nodeDownAfterMs: 60_000 },
  });
  const leader = await m.leader();
  const started = performance.now();
  await using w = await spawnSimWorkers({
    managers: m.apiAddresses,
    count: nodes,
    // Node records written through the leader (Join signs a certificate per node, ~30 ms of
    // CPU each: setup, not the subject here; the Join path is tested in tests/sim/workers).
    join: { nodeIds: await registerNodes(leader, nodes) },
    persistent: false,
    concurrency: 50,
    logLevel: Deno.env.get("WARREN_BENCH_WORKER_LOG") === "warn" ? "warn" : "error",
  }, {
    onStderr: (s) => ctx.log(`workers: ${s.trimEnd()}`),
    // Profiling aid, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    denoFlags: (Deno.env.get("WARREN_BENCH_WORKER_DENO_FLAGS") ?? "").split(" ").filter(Boolean),
  });
  const state = () => leader.store.state;
  await until(
    () => w.nodeIds.every((id) => state().nodes.get(id)?.status.state === "ready"),
    `${nodes} nodes ready`,
    120_000,
  );
  ctx.log(
    `${nodes} workers joined and registered in ${
      round((performance.now() - started) / 1000, 1)
    } s; leader RSS bound ${round(await rssMb(), 1)} MiB, workers ${
      round(await rssMb(w.pid), 1)
    } MiB`,
  );

  // Counted from the leader's change feed (committed, applied), not by scanning the store.
  const idSet = new Set<string>();
  const placedIds = new Set<string>();
  const runningIds = new Set<string>();
  const unsubscribe = leader.store.onApplied((_i, changes) => {
    for (const c of changes) {
      if (c.kind !== "task" || !idSet.has(c.task.serviceId)) continue;
      const t = c.task;
      const live = c.action !== "delete" && !isTerminal(t.desiredState);
      if (live && t.nodeId !== undefined && taskStateOrder(t.status.state) >= ASSIGNED) {
        placedIds.add(t.id);
      } else placedIds.delete(t.id);
      if (live && t.status.state === "running") runningIds.add(t.id);
      else runningIds.delete(t.id);
    }
  });
  // Commit latencies of the leader's writes during the run (diagnostics).
  const commits: number[] = [];
  const observe = leader.ctx.observeCommit;
  leader.ctx.observeCommit = (ms) => {
    commits.push(ms);
    observe?.(ms);
  };
  let placedMs = 0;
  let runningMs = 0;
  const t0 = performance.now();
  let lastLog = t0;
  try {
    const names = Array.from({ length: services }, (_, i) => `bench${i}`);
    // Service IDs are known only once created: watch by name until then.
    const byName = leader.store.onApplied((_i, changes) => {
      for (const c of changes) {
        if (c.kind === "service" && names.includes(c.service.spec.name)) idSet.add(c.service.id);
      }
    });
    try {
      await Promise.all(
        names.map((name) => m.client.services.create({ name, image: SIM_IMAGES.web, replicas })),
      );
    } finally {
      byName();
    }
    const deadline = Date.now() + Number(
      Deno.env.get("WARREN_BENCH_CONVERGE_MS") ?? (ctx.quick ? 60_000 : 300_000),
    );
    while (runningMs === 0) {
      if (ctx.signal.aborted || Date.now() > deadline) {
        throw new Error(`not converged: ${runningIds.size} of ${total} running`);
      }
      await new Promise((r) => setTimeout(r, 10));
      if (placedMs === 0 && placedIds.size === total) placedMs = performance.now() - t0;
      if (runningIds.size === total) runningMs = performance.now() - t0;
      if (performance.now() - lastLog > 2_000) {
        lastLog = performance.now();
        let tasks = 0;
        for (const id of idSet) tasks += leader.store.state.taskIdsByService.get(id)?.size ?? 0;
        ctx.log(
          `  ${round((lastLog - t0) / 1000, 0)} s: ${tasks} tasks, ${placedIds.size} placed, ` +
            `${runningIds.size} running`,
        );
      }
    }
  } finally {
    unsubscribe();
    leader.ctx.observeCommit = observe;
  }
  ctx.log(
    `leader commits during the run: ${commits.length}, p50 ${
      round(percentile(commits, 50), 1)
    } ms, p99 ${round(percentile(commits, 99), 1)} ms, max ${round(Math.max(...commits), 1)} ms`,
  );

  const perNode = new Map<string, number>();
  for (const t of state().tasks.values()) {
    if (idSet.has(t.serviceId)) perNode.set(t.nodeId!, (perNode.get(t.nodeId!) ?? 0) + 1);
  }
  ctx.log(
    `${total} tasks: placed (committed) after ${round(placedMs, 0)} ms, all running after ${
      round(runningMs, 0)
    } ms; tasks per node min ${Math.min(...perNode.values())} max ${
      Math.max(...perNode.values())
    }; workers see ${(await w.stats()).running} running`,
  );
  ctx.emit("placements_per_s_committed", round(total / (placedMs / 1000), 0), "1/s");
  ctx.emit("converge_s_10k", round(runningMs / 1000, 2), "s");
  ctx.emit("manager_rss_mb_1k_nodes", round(await rssMb(), 1), "MiB");
  ctx.log(
    `worker process RSS ${round(await rssMb(w.pid), 1)} MiB; load average after: ${await Deno
      .readTextFile("/proc/loadavg")}`,
  );
  await w.stop();
}

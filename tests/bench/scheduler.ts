/**
 * The `scheduler` benchmark suite. `placements_per_s_pure`: the pure scheduler
 * (manager/scheduler) placing 10,000 new tasks over 1,000 nodes in one `schedule()` call, no
 * Raft and no I/O. The cluster already runs 5,000 tasks; the 10,000 new ones belong to 350
 * services of mixed sizes (10 × 500, 40 × 100, 100 × 8, 200 × 1), a quarter spread over zones,
 * a fifth constrained, a tenth amd64-only, some with host ports or a per-node cap. The value is
 * the median over the rounds of placements / wall time of `schedule()` (snapshot building not
 * included; the scheduler's own per-run indexing is). Other shapes are logged on stderr.
 *
 * Then the committed metrics (`_scheduler_committed.ts`): `placements_per_s_committed`,
 * `converge_s_10k` and `manager_rss_mb_1k_nodes`, with three managers (real Raft over gRPC) and
 * 1,000 simulated workers (the real worker over the fake runtime) in a child process.
 * @module
 */
import {
  applyPlan,
  CPU,
  GiB,
  MiB,
  nodes,
  oversubscribed,
  replicas,
  run,
  service,
  snapshot,
} from "../../manager/scheduler/_harness_test_util.ts";
import type { SchedulerService, SchedulerSnapshot, WorkItem } from "../../manager/scheduler/mod.ts";
import type { BenchContext, BenchSuite } from "./_suite.ts";
import { percentile, round } from "./_stats.ts";
import { committedThroughput } from "./_scheduler_committed.ts";

const NODES = 1_000;
const ZONES = ["eu-1a", "eu-1b", "eu-1c"];

/** 1,000 nodes: 16 CPUs, 64 GiB, three zones, 20 racks, every tenth one arm64. */
function cluster(): SchedulerSnapshot["nodes"] {
  return nodes(NODES, {
    nanoCpus: 16 * CPU,
    memoryBytes: 64 * GiB,
    labelsOf: (i) => ({ zone: ZONES[i % 3]!, rack: `r${i % 20}` }),
  }).map((n, i) => i % 10 === 9 ? { ...n, platform: { os: "linux", arch: "arm64" } } : n);
}

/** `count` services `${prefix}N` with the mixed features described in the module doc. */
function services(prefix: string, count: number): SchedulerService[] {
  return Array.from({ length: count }, (_, i) =>
    service(`${prefix}${i}`, {
      nanoCpus: (1 + (i % 4)) * CPU / 20,
      memoryBytes: (64 + (i % 8) * 64) * MiB,
      spread: i % 4 === 0 ? ["zone"] : [],
      constraints: i % 5 === 0 ? ["node.labels.rack!=r3", "node.role==worker"] : [],
      hostPorts: i % 10 === 3 ? [20_000 + i] : [],
      maxReplicasPerNode: i % 7 === 0 ? 2 : 0,
    }));
}

interface Workload {
  name: string;
  snap: SchedulerSnapshot;
  work: WorkItem[];
}

/** The mixed workload: 5,000 tasks already running, 10,000 to place. */
function mixedWorkload(): Workload {
  const shapes: [string, number, number][] = [
    ["big", 10, 500],
    ["mid", 40, 100],
    ["small", 100, 8],
    ["one", 200, 1],
  ];
  const svcs = shapes.flatMap(([p, n]) => services(p, n));
  const running = services("old", 50);
  const empty = snapshot({ nodes: cluster(), services: [...svcs, ...running] });
  const base = applyPlan(empty, run(empty, running.flatMap((s) => replicas(s.id, 100))));
  const work = shapes.flatMap(([p, n, r]) =>
    Array.from(
      { length: n },
      (_, i) => replicas(`${p}${i}`, r, i % 10 === 1 ? { imagePlatforms: ["linux/amd64"] } : {}),
    ).flat()
  );
  return { name: "mixed 350 services", snap: base, work };
}

/** `count` plain services (reservations only) of `each` replicas on an empty cluster. */
function uniformWorkload(count: number, each: number): Workload {
  const svcs = Array.from(
    { length: count },
    (_, i) => service(`u${i}`, { nanoCpus: CPU / 10, memoryBytes: 128 * MiB }),
  );
  return {
    name: `${count} services x ${each}`,
    snap: snapshot({ nodes: cluster(), services: svcs }),
    work: svcs.flatMap((s) => replicas(s.id, each)),
  };
}

/** Placements per second of each round. Throws if the plan is wrong (pending or oversubscribed). */
function measure(w: Workload, rounds: number, ctx: BenchContext): number[] {
  const rates: number[] = [];
  for (let r = 0; r < rounds && !ctx.signal.aborted; r++) {
    const started = performance.now();
    const plan = run(w.snap, w.work, { seed: r + 1 });
    const ms = performance.now() - started;
    if (plan.place.length !== w.work.length) {
      throw new Error(`${w.name}: ${plan.pending.length} pending: ${plan.pending[0]?.reason}`);
    }
    if (r === 0) {
      const problems = oversubscribed(applyPlan(w.snap, plan));
      if (problems.length > 0) throw new Error(`${w.name}: oversubscribed: ${problems[0]}`);
    }
    rates.push(plan.place.length / (ms / 1000));
  }
  return rates;
}

/** Emits `placements_per_s_pure` (and logs the other shapes). */
export function pureThroughput(ctx: BenchContext): void {
  const rounds = ctx.quick ? 3 : 10;
  const mixed = mixedWorkload();
  measure(mixed, 2, ctx); // warm-up: JIT
  const rates = measure(mixed, rounds, ctx);
  ctx.log(
    `${mixed.name}: ${mixed.work.length} tasks over ${NODES} nodes (${mixed.snap.tasks.length} ` +
      `running): median ${round(percentile(rates, 50), 0)}/s, min ${
        round(Math.min(...rates), 0)
      }/s`,
  );
  ctx.emit("placements_per_s_pure", round(percentile(rates, 50), 0), "1/s");
  for (const [count, each] of [[1, 10_000], [100, 100], [10_000, 1]] as const) {
    const w = uniformWorkload(count, each);
    measure(w, 1, ctx);
    const r = measure(w, ctx.quick ? 1 : 3, ctx);
    ctx.log(`${w.name}: median ${round(percentile(r, 50), 0)} placements/s`);
  }
}

/** The suite: the pure scheduler, then placements committed through Raft to simulated workers. */
export const suite: BenchSuite = {
  description:
    "scheduler: 10,000 placements over 1,000 nodes, pure and committed (3 managers, simulated workers)",
  timeoutMs: 600_000,
  run: async (ctx) => {
    pureThroughput(ctx);
    if (!ctx.signal.aborted) await committedThroughput(ctx);
  },
};

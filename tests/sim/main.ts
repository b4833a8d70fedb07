/**
 * The simulator's command line:
 *
 *   deno task sim [--seeds N] [--start S] [--seed S] [--nodes 3|5] [--steps K] [--jobs J] [-v]
 *
 * Runs N seeds (default 100) from S (default: random, printed), or one seed with --seed, on J
 * worker threads (default: one per core). Prints one line per failing seed with the command that
 * replays it, then `sim: N passed, M failed (T s)`. Exits 1 on any failure. With -v, a failure
 * prints the last events before it (--trace LINES of them, default 50) and each passing seed a
 * one-line summary.
 * @module
 */
import { parseArgs } from "node:util";
import type { SimSummary } from "./simulator.ts";
import { runSeed, type SeedOutcome } from "./worker.ts";

/** Parsed command-line options. */
export interface CliOptions {
  seeds: number;
  start: number;
  single: boolean;
  nodes: 3 | 5 | undefined;
  steps: number | undefined;
  jobs: number;
  traceLines: number;
  verbose: boolean;
}

const USAGE =
  "usage: deno task sim [--seeds N] [--start S] [--seed S] [--nodes 3|5] [--steps K] [--jobs J] [-v] [--trace LINES]";

/** Parses the arguments; throws with a message naming the bad option. */
export function parseCli(
  args: string[],
  defaults: { randomStart: () => number; cores: number },
): CliOptions {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: "string" },
      start: { type: "string" },
      seed: { type: "string" },
      nodes: { type: "string" },
      steps: { type: "string" },
      jobs: { type: "string" },
      trace: { type: "string" },
      v: { type: "boolean", short: "v" },
      verbose: { type: "boolean" },
    },
    strict: true,
  });
  const int = (name: string, s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`--${name} must be a non-negative integer, got ${s}`);
    }
    return n;
  };
  const nodes = int("nodes", values.nodes);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) {
    throw new Error(`--nodes must be 3 or 5, got ${nodes}`);
  }
  const seed = int("seed", values.seed);
  return {
    seeds: seed !== undefined ? 1 : int("seeds", values.seeds) ?? 100,
    start: seed ?? int("start", values.start) ?? defaults.randomStart(),
    single: seed !== undefined,
    nodes: nodes as 3 | 5 | undefined,
    steps: int("steps", values.steps),
    jobs: Math.max(1, int("jobs", values.jobs) ?? defaults.cores),
    traceLines: int("trace", values.trace) ?? 50,
    verbose: values.v === true || values.verbose === true,
  };
}

/** The command that replays one seed exactly. */
export function replayCommand(seed: number, o: Pick<CliOptions, "nodes" | "steps">): string {
  const extra = (o.nodes ? ` --nodes ${o.nodes}` : "") +
    (o.steps !== undefined ? ` --steps ${o.steps}` : "");
  return `deno task sim --seed ${seed}${extra} -v`;
}

function summaryLine(s: SimSummary): string {
  return `seed ${s.seed} ok: ${s.nodes} nodes, ${s.leaderTerms} leader terms, commit ${s.committed}, ` +
    `ops ${s.ops.ok} ok/${s.ops.unknown} unknown, recovery ${s.recoverySteps} steps, ` +
    `crashes ${s.faults.crashes}+${s.node.readyCrashes} mid-Ready, partitions ${s.faults.partitions}, ` +
    `snapshots ${s.node.snapshotsTaken} taken/${s.node.snapshotsInstalled} installed ` +
    `(${s.net.snapshotChunks} chunks), conf changes ${s.node.confChangesApplied} applied, ` +
    `transfers ${s.faults.transfers}`;
}

/** Runs the seeds on `jobs` workers (in this thread for one job), calling `report` per seed. */
async function runSeeds(o: CliOptions, report: (r: SeedOutcome) => void): Promise<void> {
  const opts = (seed: number) => ({
    seed,
    nodes: o.nodes,
    steps: o.steps,
    verbose: o.verbose,
    traceLines: o.traceLines,
  });
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.start + i);
  const jobs = Math.min(o.jobs, seeds.length);
  if (jobs <= 1) {
    for (const seed of seeds) report(runSeed(opts(seed)));
    return;
  }
  let next = 0;
  const workers = Array.from(
    { length: jobs },
    () => new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" }),
  );
  try {
    await Promise.all(workers.map((w) =>
      new Promise<void>((resolve, reject) => {
        const feed = () => {
          if (next >= seeds.length) return resolve();
          w.postMessage(opts(seeds[next++]));
        };
        w.onmessage = (e: MessageEvent<SeedOutcome>) => {
          report(e.data);
          feed();
        };
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`simulator worker crashed: ${e.message}`));
        };
        feed();
      })
    ));
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** Runs the seeds; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseCli(args, {
      randomStart: () => Math.floor(Math.random() * 1_000_000_000),
      cores: navigator.hardwareConcurrency,
    });
  } catch (err) {
    console.error(`sim: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!o.single) console.log(`sim: seeds ${o.start}..${o.start + o.seeds - 1}`);
  const t0 = performance.now();
  let passed = 0, failed = 0;
  const totals = {
    terms: 0,
    crashes: 0,
    snapshots: 0,
    chunks: 0,
    conf: 0,
    transfers: 0,
    ok: 0,
    unknown: 0,
  };
  await runSeeds(o, (r) => {
    if (r.ok) {
      const s = r.summary;
      passed++;
      totals.terms += s.leaderTerms;
      totals.crashes += s.faults.crashes + s.node.readyCrashes;
      totals.snapshots += s.node.snapshotsInstalled;
      totals.chunks += s.net.snapshotChunks;
      totals.conf += s.node.confChangesApplied;
      totals.transfers += s.faults.transfers;
      totals.ok += s.ops.ok;
      totals.unknown += s.ops.unknown;
      if (o.verbose) console.log(summaryLine(s));
      return;
    }
    failed++;
    const [first, ...rest] = r.message.split("\n");
    console.log(`FAIL ${first}\n  replay: ${replayCommand(r.seed, o)}`);
    if (o.verbose) {
      if (rest.length > 0) console.log(rest.join("\n"));
      if (r.trace.length > 0) {
        console.log(`  last ${r.trace.length} events:\n    ${r.trace.join("\n    ")}`);
      }
    }
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (o.seeds > 1) {
    console.log(
      `coverage: ${totals.terms} leader terms, ${totals.crashes} crashes, ` +
        `${totals.snapshots} snapshots installed (${totals.chunks} chunks), ${totals.conf} conf ` +
        `changes applied, ${totals.transfers} transfers, ops ${totals.ok} ok/${totals.unknown} unknown`,
    );
  }
  console.log(`sim: ${passed} passed, ${failed} failed (${secs} s)`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

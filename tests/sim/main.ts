/**
 * The simulator's command line:
 *
 *   deno task sim [--seeds N] [--start S] [--seed S] [--nodes 3|5] [--steps K] [-v]
 *
 * Runs N seeds (default 100) from S (default: random, printed), or one seed with --seed. Prints
 * one line per failing seed with the command that replays it, then `sim: N passed, M failed
 * (T s)`. Exits 1 on any failure. With -v, a failure prints the last events before it, and each
 * passing seed a one-line summary.
 * @module
 */
import { parseArgs } from "node:util";
import { runSimulation, SimFailure, type SimSummary } from "./simulator.ts";

/** Parsed command-line options. */
export interface CliOptions {
  seeds: number;
  start: number;
  single: boolean;
  nodes: 3 | 5 | undefined;
  steps: number | undefined;
  traceLines: number;
  verbose: boolean;
}

/** Parses the arguments; throws with a usage message on bad input. */
export function parseCli(args: string[], randomStart: () => number): CliOptions {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: "string" },
      start: { type: "string" },
      seed: { type: "string" },
      nodes: { type: "string" },
      steps: { type: "string" },
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
    start: seed ?? int("start", values.start) ?? randomStart(),
    single: seed !== undefined,
    nodes: nodes as 3 | 5 | undefined,
    steps: int("steps", values.steps),
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

/** Runs the seeds; returns the process exit code. */
export function main(args: string[]): number {
  let o: CliOptions;
  try {
    o = parseCli(args, () => Math.floor(Math.random() * 1_000_000_000));
  } catch (err) {
    console.error(`sim: ${(err as Error).message}`);
    console.error(
      "usage: deno task sim [--seeds N] [--start S] [--seed S] [--nodes 3|5] [--steps K] [-v]",
    );
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
  for (let seed = o.start; seed < o.start + o.seeds; seed++) {
    try {
      const s = runSimulation({
        seed,
        nodes: o.nodes,
        steps: o.steps,
        verbose: o.verbose,
        traceLines: o.traceLines,
      });
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
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err;
      failed++;
      const first = err.message.split("\n")[0];
      console.log(`FAIL ${first}\n  replay: ${replayCommand(seed, o)}`);
      if (o.verbose) {
        console.log(err.message.split("\n").slice(1).join("\n"));
        if (err.trace.length > 0) {
          console.log(`  last ${err.trace.length} events:\n    ${err.trace.join("\n    ")}`);
        }
      }
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (o.verbose || o.seeds > 1) {
    console.log(
      `coverage: ${totals.terms} leader terms, ${totals.crashes} crashes, ${totals.snapshots} snapshots installed ` +
        `(${totals.chunks} chunks), ${totals.conf} conf changes applied, ${totals.transfers} transfers, ` +
        `ops ${totals.ok} ok/${totals.unknown} unknown`,
    );
  }
  console.log(`sim: ${passed} passed, ${failed} failed (${secs} s)`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));

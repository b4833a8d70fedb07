/**
 * The contract between `deno task bench` (./main.ts) and one benchmark suite: a suite measures,
 * emits one JSON line per metric on stdout, logs progress on stderr, and stops (cleaning up)
 * when its signal aborts.
 * @module
 */

/** One measured number, printed as a JSON line. */
export interface Metric {
  suite: string;
  metric: string;
  value: number;
  unit: string;
}

/** What a running suite gets from the driver. */
export interface BenchContext {
  /** Prints `{"suite","metric","value","unit"}` as one line on stdout. */
  emit(metric: string, value: number, unit: string): void;
  /** Progress and diagnostics, on stderr (stdout stays machine-readable). */
  log(message: string): void;
  /** Aborts when the suite's time budget is spent; the suite must clean up and return. */
  signal: AbortSignal;
  /** Smaller workloads, for a quick check that the suite still works. */
  quick: boolean;
}

/** A benchmark suite. */
export interface BenchSuite {
  /** One line on what it measures (shown by `deno task bench` without arguments). */
  description: string;
  /** Hard time budget; the driver aborts `ctx.signal` when it is spent. */
  timeoutMs: number;
  run(ctx: BenchContext): Promise<void>;
}

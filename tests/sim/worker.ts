/**
 * A worker thread of the simulator's command line: runs the seeds it is sent, one message per
 * seed, and answers each with its outcome (so main.ts can use every core).
 * @module
 */
/// <reference lib="deno.worker" />
import { runSimulation, SimFailure, type SimSummary } from "./simulator.ts";
import type { SimOptions } from "./params.ts";

/** A seed's outcome as it crosses the worker boundary. */
export type SeedOutcome =
  | { seed: number; ok: true; summary: SimSummary }
  | { seed: number; ok: false; check: string; message: string; trace: string[] };

/** Runs one seed and describes the outcome (a SimFailure becomes ok: false). */
export function runSeed(opts: SimOptions): SeedOutcome {
  try {
    return { seed: opts.seed, ok: true, summary: runSimulation(opts) };
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    return { seed: opts.seed, ok: false, check: err.check, message: err.message, trace: err.trace };
  }
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  self.onmessage = (e: MessageEvent<SimOptions>) => {
    self.postMessage(runSeed(e.data));
  };
}

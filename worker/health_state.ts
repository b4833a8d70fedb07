/**
 * The health state machine of one task (pure). A task is `starting` until its first successful
 * probe; failures inside the start period do not count while it is still starting; `retries`
 * consecutive counted failures make it `unhealthy`; one success makes it `healthy` again.
 *
 * ```
 *            success                 retries failures
 * starting ───────────▶ healthy ─────────────────────▶ unhealthy
 *    │  (failures in the ▲                                │
 *    │   start period     └──────────── success ──────────┘
 *    │   do not count)
 *    └── retries failures after the start period ──▶ unhealthy
 * ```
 * @module
 */
import type { HealthCheck } from "../proto/schema/mod.ts";

/** Health values a check produces (`none` is for tasks without a check). */
export type CheckedHealth = "starting" | "healthy" | "unhealthy";

/** Where a task's health stands. */
export interface HealthState {
  health: CheckedHealth;
  /** Consecutive counted failures. */
  failures: number;
  /** When the container started (ms); the start period counts from here. */
  startedAtMs: number;
  /** Output or error of the last failed probe, for the status message. */
  lastError?: string;
}

/** The state of a container that just started. */
export function initialHealth(startedAtMs: number): HealthState {
  return { health: "starting", failures: 0, startedAtMs };
}

/** The state after a probe result at `nowMs`. */
export function observeProbe(
  state: HealthState,
  check: Pick<HealthCheck, "retries" | "startPeriodMs">,
  result: { ok: true } | { ok: false; error: string },
  nowMs: number,
): HealthState {
  if (result.ok) return { health: "healthy", failures: 0, startedAtMs: state.startedAtMs };
  const inStartPeriod = nowMs - state.startedAtMs < check.startPeriodMs;
  if (state.health === "starting" && inStartPeriod) {
    return { ...state, lastError: result.error };
  }
  const failures = state.failures + 1;
  return {
    health: failures >= check.retries ? "unhealthy" : state.health,
    failures,
    startedAtMs: state.startedAtMs,
    lastError: result.error,
  };
}

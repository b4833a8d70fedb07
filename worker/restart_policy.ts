/**
 * The restart policy as the worker applies it locally while no manager is reachable (the
 * orchestrator applies the same policy by replacing tasks while one is). Pure: the caller passes
 * the exit code, the times of earlier local restarts and the current time.
 * @module
 */
import type { RestartPolicy } from "../proto/schema/mod.ts";

/**
 * Why a container stopped without being asked to: its exit code, `unhealthy` when the worker
 * stopped it because its health check failed (a failure whatever code it then exited with, as in
 * Docker Swarm), or `lost` when its process is gone without an exit code (the container vanished,
 * or the host rebooted and the runtime kept only the container, not its task); both are failures.
 */
export type StopCause = number | "unhealthy" | "lost";

/** What to do with a container that stopped. */
export type RestartDecision =
  | { restart: true; delayMs: number; attempt: number; reason: string }
  | { restart: false; reason: string };

/**
 * Decides whether a container that stopped (`cause`: its exit code, `unhealthy` or `lost`) is
 * restarted, per `policy`: `none` never, `on-failure` only after a non-zero exit, a failed health
 * check or a lost process, `any` always; at most `maxAttempts` restarts (0 = unlimited) among
 * `history` within the last `windowMs` (0 = ever).
 * @param history times (ms) of earlier restarts of this task, any order
 */
export function decideRestart(
  policy: RestartPolicy,
  cause: StopCause,
  history: readonly number[],
  nowMs: number,
): RestartDecision {
  if (policy.condition === "none") {
    return { restart: false, reason: "restart policy condition is none" };
  }
  if (policy.condition === "on-failure" && cause === 0) {
    return { restart: false, reason: "exited with code 0 and the restart condition is on-failure" };
  }
  const counted = policy.windowMs > 0
    ? history.filter((t) => t > nowMs - policy.windowMs).length
    : history.length;
  if (policy.maxAttempts > 0 && counted >= policy.maxAttempts) {
    const within = policy.windowMs > 0 ? ` within ${policy.windowMs} ms` : "";
    return {
      restart: false,
      reason: `gave up after ${counted} restart attempts${within} (max ${policy.maxAttempts})`,
    };
  }
  return {
    restart: true,
    delayMs: policy.delayMs,
    attempt: counted + 1,
    reason: `${
      typeof cause === "number" ? `exited with code ${cause}` : cause
    }; restart condition is ${policy.condition}`,
  };
}

/** Drops restart times that no longer count (outside the window), keeping the list bounded. */
export function pruneHistory(
  policy: RestartPolicy,
  history: readonly number[],
  nowMs: number,
): number[] {
  const kept = policy.windowMs > 0 ? history.filter((t) => t > nowMs - policy.windowMs) : [
    ...history,
  ];
  // Only the count matters without a window; keep the newest ones so the list stays small.
  const max = Math.max(policy.maxAttempts, 1) * 2;
  return kept.slice(-Math.max(max, 16));
}

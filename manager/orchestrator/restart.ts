/**
 * The restart supervisor's decision for a task that stopped while it was meant to run: replace
 * it (now or after the delay), or retire its slot, per the service's restart policy.
 * Pure: the caller passes the slot's history and the time.
 * @module
 */
import { isTerminal, type RestartPolicy, type Task } from "../../proto/schema/mod.ts";
import type { Actions, NewTask } from "./actions.ts";

/** What to do with a dead task. */
export type RestartDecision =
  | { kind: "replace" }
  | { kind: "wait"; until: number }
  | { kind: "retire"; reason: string };

/**
 * Decides for `dead` (observed terminal, desired running). `history` are the slot's earlier
 * tasks (any state). Tasks lost with their node (`orphaned`) are always replaced: that is not a
 * failure of the task, and it does not count as an attempt. Restarts a worker made locally
 * (`status.localRestarts`) count as attempts. Only tasks of `dead`'s spec version count: a new
 * spec starts the slot's count afresh (as Swarm does), so a fixed image is not retired for the
 * crashes of the broken one.
 */
export function restartDecision(
  dead: Task,
  policy: RestartPolicy,
  history: readonly Task[],
  now: number,
): RestartDecision {
  const state = dead.status.state;
  if (state === "orphaned") return { kind: "replace" };
  const failed = state === "failed" || state === "rejected";
  if (policy.condition === "none") return { kind: "retire", reason: "restart policy is none" };
  if (policy.condition === "on-failure" && !failed) {
    return { kind: "retire", reason: "exited successfully; restart policy is on-failure" };
  }
  if (policy.maxAttempts > 0) {
    const since = policy.windowMs > 0 ? now - policy.windowMs : -Infinity;
    // Each ended task is one attempt, plus the restarts its worker made on its own while cut off
    // from the managers (counted at the task's last status: their own times are not reported).
    const attempts = [dead, ...history].filter((t) =>
      t.specVersion === dead.specVersion && isAttempt(t) && t.status.timestamp >= since
    ).reduce((n, t) => n + 1 + (t.status.localRestarts ?? 0), 0);
    if (attempts > policy.maxAttempts) {
      return {
        kind: "retire",
        reason: `gave up after ${policy.maxAttempts} restart attempt(s)${
          policy.windowMs > 0 ? ` within ${policy.windowMs} ms` : ""
        }`,
      };
    }
  }
  const at = dead.status.timestamp + policy.delayMs;
  return now >= at ? { kind: "replace" } : { kind: "wait", until: at };
}

/**
 * Whether an ended task counts as a restart attempt of its slot: it failed, was rejected or
 * completed (a task lost with its node, or stopped by the manager, does not).
 */
export function isAttempt(t: Task): boolean {
  const state = t.status.state;
  return state === "failed" || state === "rejected" || state === "complete";
}

/**
 * Whether a slot (or a global service's node) whose newest task is `latest` was retired by the
 * restart policy: its desired state followed a terminal observed state, so it gets no new task.
 */
export function isRetired(latest: Task | undefined): boolean {
  return latest !== undefined && latest.desiredState !== "shutdown" &&
    latest.desiredState === latest.status.state;
}

/**
 * The restart supervisor's share of one slot (or one node of a global service), as actions:
 * with no live task, a new one unless the last was retired by the policy; with a dead one,
 * replace it, wait for the delay, or retire the slot. `fresh` describes the replacement.
 */
export function superviseSlot(
  out: Actions,
  o: {
    current: Task | undefined;
    history: readonly Task[];
    policy: RestartPolicy;
    fresh: NewTask;
    now: number;
  },
): void {
  const { current } = o;
  if (!current) {
    if (!isRetired(o.history[0])) out.create.push(o.fresh);
    return;
  }
  if (!isTerminal(current.status.state)) return;
  // Observed dead while meant to run.
  const d = restartDecision(current, o.policy, o.history.filter((t) => t !== current), o.now);
  if (d.kind === "replace") {
    out.desired.push({ taskId: current.id, desiredState: "shutdown", reason: "replaced" });
    out.create.push(o.fresh);
  } else if (d.kind === "wait") {
    out.wakeAt = out.wakeAt === undefined ? d.until : Math.min(out.wakeAt, d.until);
  } else {
    // Retire: the desired state follows the observed terminal state.
    out.desired.push({ taskId: current.id, desiredState: current.status.state, reason: d.reason });
  }
}

/**
 * Rolling updates (pure): moves a service's live tasks from older spec versions to the current
 * one, `parallelism` slots at a time, in `order` stop-first or start-first, waiting `delayMs`
 * between batches and watching each new task for `monitorMs`; failures beyond
 * `maxFailureRatio` trigger the failure action (pause, continue or rollback).
 * @module
 */
import { isTerminal, type Service, type Task, type UpdateStatus } from "../../proto/schema/mod.ts";
import { type Actions, noActions } from "./actions.ts";
import { bySlot, isLive } from "./replicated.ts";

/** The updater's verdict for one pass. */
export interface UpdateStep {
  actions: Actions;
  /** A new update status to record, when it changes. */
  status?: UpdateStatus;
  /** Start a rollback (failure action rollback). */
  rollback?: boolean;
}

/** In-memory pacing the leader keeps per service (not replicated: it resets on failover). */
export interface UpdatePacing {
  lastBatchAt: number;
}

const settled = (t: Task, now: number, monitorMs: number, needsHealth: boolean) =>
  t.status.state === "running" && now - t.status.timestamp >= monitorMs &&
  (!needsHealth || t.status.health === "healthy");

/** One pass of the rolling updater for a replicated service. */
export function reconcileUpdate(
  service: Service,
  tasks: readonly Task[],
  pacing: UpdatePacing,
  now: number,
): UpdateStep {
  const out: UpdateStep = { actions: noActions() };
  const st = service.updateStatus;
  const rollingBack = st?.state === "rollback_started";
  const cfg = rollingBack ? service.spec.rollbackConfig : service.spec.updateConfig;
  const needsHealth = service.spec.healthCheck !== undefined;
  const slots = bySlot(
    tasks.filter((t) => t.slot !== undefined && t.slot <= (service.spec.replicas ?? 1)),
  );
  const outdatedSlots: number[] = [];
  let inFlight = 0;
  let failures = 0;
  const startedAt = st && (st.state === "updating" || st.state === "rollback_started")
    ? st.startedAt
    : now;
  for (const [slot, list] of slots) {
    const live = list.filter(isLive);
    const fresh = list.filter((t) =>
      t.specVersion === service.specVersion && t.createdAt >= startedAt
    );
    failures += fresh.filter((t) =>
      t.status.state === "failed" || t.status.state === "rejected"
    ).length;
    const current = live.find((t) => t.specVersion === service.specVersion);
    const old = live.filter((t) => t.specVersion !== service.specVersion);
    if (
      current && !isTerminal(current.status.state) &&
      !settled(current, now, cfg.monitorMs, needsHealth)
    ) {
      inFlight++;
    }
    if (old.length > 0) {
      if (current && cfg.order === "start-first") {
        // The new task runs: retire the old one(s).
        if (current.status.state === "running") {
          for (const o of old) {
            out.actions.desired.push({
              taskId: o.id,
              desiredState: "shutdown",
              reason: "updated (start-first)",
            });
          }
        }
      } else if (!current) {
        outdatedSlots.push(slot);
      }
    }
  }
  const total = Math.max(1, service.spec.replicas ?? 1);
  // New tasks of a fresh service are not an update: only older versions, or an update already
  // under way (watching its last batch), make one.
  const underway = st?.state === "updating" || st?.state === "rollback_started";
  const updating = outdatedSlots.length > 0 || (underway && inFlight > 0);
  if (!updating) {
    if (st && (st.state === "updating" || st.state === "rollback_started")) {
      out.status = {
        state: rollingBack ? "rolled_back" : "completed",
        message: rollingBack ? "rollback completed" : "update completed",
        startedAt: st.startedAt,
        completedAt: now,
      };
    }
    return out;
  }
  if (st?.state === "paused") return out;
  if (!st || (st.state !== "updating" && st.state !== "rollback_started")) {
    out.status = { state: "updating", message: "update in progress", startedAt: now };
  }
  if (failures > 0 && failures / total > cfg.maxFailureRatio && cfg.failureAction !== "continue") {
    const msg =
      `${failures} of ${total} updated task(s) failed (max failure ratio ${cfg.maxFailureRatio})`;
    if (cfg.failureAction === "rollback" && !rollingBack && service.previousSpec) {
      out.rollback = true;
      out.status = { state: "rollback_started", message: `${msg}: rolling back`, startedAt: now };
    } else {
      out.status = {
        state: "paused",
        message: `${msg}: update paused`,
        startedAt: st?.startedAt ?? now,
      };
    }
    return out;
  }
  const parallelism = cfg.parallelism === 0 ? Infinity : cfg.parallelism;
  if (inFlight >= parallelism || outdatedSlots.length === 0) return out;
  if (inFlight === 0 && now - pacing.lastBatchAt < cfg.delayMs) {
    out.actions.wakeAt = pacing.lastBatchAt + cfg.delayMs;
    return out;
  }
  const batch = outdatedSlots.sort((a, b) => a - b).slice(0, parallelism - inFlight);
  for (const slot of batch) {
    const live = (slots.get(slot) ?? []).filter(isLive);
    if (cfg.order === "stop-first") {
      for (const o of live) {
        out.actions.desired.push({ taskId: o.id, desiredState: "shutdown", reason: "updating" });
      }
    }
    out.actions.create.push({ serviceId: service.id, slot, specVersion: service.specVersion });
  }
  pacing.lastBatchAt = now;
  return out;
}

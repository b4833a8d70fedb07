/**
 * Rolling updates (pure): moves a service's live tasks from older spec versions to the current
 * one, `parallelism` slots (replicated) or nodes (global) at a time, in `order` stop-first or
 * start-first, watching each new task for `monitorMs`, and waiting `delayMs` after a batch has
 * settled (its tasks running, healthy and past their monitor period) before the next one, as
 * Swarm's `--update-delay`; failures beyond `maxFailureRatio` trigger the failure action
 * (pause, continue or rollback).
 *
 * stop-first (as Docker Swarm): the updater only tells a slot's old tasks to stop; the slot's
 * new task is created by the replicated or global reconciler once none of them still runs
 * (`isStopping`), so two versions of a slot never run at once. The wait ends: the worker kills
 * a task after its stop grace period, and a node that cannot report (down, cut off) is waited
 * for during the service's disconnect grace, as its worker may keep the task running on its
 * own, then given up on (`NodeFacts.lost`, at most node-down period + grace). Should such a
 * node come back later, its worker stops the task then.
 * @module
 */
import {
  isTerminal,
  runsCurrentSpec,
  type Service,
  type Task,
  type UpdateStatus,
} from "../../proto/schema/mod.ts";
import { type Actions, type NewTask, noActions } from "./actions.ts";
import { bySlot, isLive, isStopping, type NodeFacts } from "./replicated.ts";
import { byNode } from "./global.ts";
import { isRetired } from "./restart.ts";

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
  /** When the last batch started (0: none yet under this leader). */
  lastBatchAt: number;
  /** The first pass that found the last batch settled (nothing in flight): the delay's start. */
  settledAt?: number;
  /**
   * New tasks of this update seen past their monitor period (running, healthy if checked): a
   * later failure of one is not the update's (as in Swarm, which watches each updated task for
   * the monitor period only). After a failover the new leader starts with none: it counts such
   * a failure, the cautious side.
   */
  monitored?: Set<string>;
  /** The update (its `startedAt`) the fields above belong to: a new one starts afresh. */
  run?: number;
}

/** Whether `t` runs and, when the service checks health, has passed its check. */
const serving = (t: Task, needsHealth: boolean) =>
  t.status.state === "running" && (!needsHealth || t.status.health === "healthy");

const settled = (t: Task, now: number, monitorMs: number, needsHealth: boolean) =>
  serving(t, needsHealth) && now - t.status.timestamp >= monitorMs;

/** The units an update replaces one by one: slots of a replicated service, nodes of a global. */
interface Units {
  groups: Map<number | string, Task[]>;
  total: number;
  fresh: (key: number | string) => NewTask;
}

function unitsOf(service: Service, tasks: readonly Task[], eligible?: ReadonlySet<string>): Units {
  const specVersion = service.specVersion;
  if (service.spec.mode === "global") {
    return {
      groups: byNode(tasks.filter((t) => t.nodeId !== undefined && eligible?.has(t.nodeId))),
      total: Math.max(1, eligible?.size ?? 0),
      fresh: (nodeId) => ({ serviceId: service.id, nodeId: String(nodeId), specVersion }),
    };
  }
  const replicas = service.spec.replicas ?? 1;
  return {
    groups: bySlot(tasks.filter((t) => t.slot !== undefined && t.slot <= replicas)),
    total: Math.max(1, replicas),
    fresh: (slot) => ({ serviceId: service.id, slot: Number(slot), specVersion }),
  };
}

/** What the updater knows of the cluster beside the service's tasks. */
export interface UpdateContext {
  /** For a global service, the nodes that should run it (their tasks are the units updated). */
  eligible?: ReadonlySet<string>;
  /** Node facts (which nodes are lost); without them every node is assumed able to report. */
  nodes?: NodeFacts;
}

/** One pass of the rolling updater. */
export function reconcileUpdate(
  service: Service,
  tasks: readonly Task[],
  pacing: UpdatePacing,
  now: number,
  { eligible, nodes }: UpdateContext = {},
): UpdateStep {
  const out: UpdateStep = { actions: noActions() };
  const st = service.updateStatus;
  const rollingBack = st?.state === "rollback_started";
  const cfg = rollingBack ? service.spec.rollbackConfig : service.spec.updateConfig;
  const needsHealth = service.spec.healthCheck !== undefined;
  const units = unitsOf(service, tasks, eligible);
  const slots = units.groups;
  const outdatedSlots: (number | string)[] = [];
  /** Outdated slots the restart policy retired: nothing to stop, their new task is created. */
  const revived = new Set<number | string>();
  let inFlight = 0;
  let failures = 0;
  const lost = (nodeId: string) => nodes?.lost(nodeId, service, now) ?? false;
  const startedAt = st && (st.state === "updating" || st.state === "rollback_started")
    ? st.startedAt
    : now;
  // A new update (or a rollback of one) owes nothing to the last: its first batch goes at once
  // (the delay is between batches), and only its own tasks count as its failures.
  if (pacing.run !== undefined && pacing.run !== startedAt) {
    pacing.lastBatchAt = 0;
    pacing.settledAt = undefined;
    pacing.monitored = undefined;
  }
  pacing.run = startedAt;
  for (const [slot, list] of slots) {
    const live = list.filter(isLive);
    const fresh = list.filter((t) =>
      t.specVersion === service.specVersion && t.createdAt >= startedAt
    );
    for (const t of fresh) {
      if (settled(t, now, cfg.monitorMs, needsHealth)) (pacing.monitored ??= new Set()).add(t.id);
    }
    failures += fresh.filter((t) =>
      (t.status.state === "failed" || t.status.state === "rejected") &&
      !pacing.monitored?.has(t.id)
    ).length;
    const current = live.find((t) =>
      runsCurrentSpec(service, t.specVersion)
    );
    const old = live.filter((t) => !runsCurrentSpec(service, t.specVersion));
    // No task meant to run: the slot is between an old task told to stop and its new task,
    // which the reconciler creates once nothing of the slot still runs (stop-first), this pass
    // if nothing does. In flight until that task settles, so that it counts against
    // `parallelism` and the update does not complete without it. A slot the restart policy
    // retired gets no new task: not in flight.
    if (
      live.length === 0 && (list.some((t) => isStopping(t, lost)) || !isRetired(list[0]))
    ) {
      inFlight++;
    }
    if (
      current && !isTerminal(current.status.state) &&
      !settled(current, now, cfg.monitorMs, needsHealth)
    ) {
      inFlight++;
      // A running task settles when its monitor period ends: look again then, not only when
      // something else changes.
      if (current.status.state === "running") {
        const at = current.status.timestamp + cfg.monitorMs;
        if (at > now) out.actions.wakeAt = Math.min(out.actions.wakeAt ?? Infinity, at);
      }
    }
    // A slot the restart policy gave up on (max attempts, or an exit it does not restart) is
    // still updated to a new spec, as in Swarm: the new spec may be the fix, and the service
    // would otherwise stay short of its replicas after an update that says "completed". Not in
    // a rollback, which only undoes the update (Swarm leaves such slots alone there too).
    if (
      live.length === 0 && !rollingBack && isRetired(list[0]) &&
      !runsCurrentSpec(service, list[0]!.specVersion)
    ) {
      outdatedSlots.push(slot);
      revived.add(slot);
    }
    if (old.length > 0) {
      if (current) {
        // start-first keeps the old task(s) until the new one runs, and passes its health
        // check if the service has one (Swarm's task only reports running once healthy): a new
        // task that starts and then fails its check must not have taken the old one down.
        // Otherwise an old task beside a current one (a rollback that restored the version of
        // the older task, mid start-first update) goes at once.
        const startFirst = cfg.order === "start-first";
        if (!startFirst || serving(current, needsHealth)) {
          for (const o of old) {
            out.actions.desired.push({
              taskId: o.id,
              desiredState: "shutdown",
              reason: startFirst ? "updated (start-first)" : "replaced by a current task",
            });
          }
        }
      } else {
        outdatedSlots.push(slot);
      }
    }
  }
  const total = units.total;
  // New tasks of a fresh service are not an update: only older versions, or an update already
  // under way (watching its last batch), make one.
  const underway = st?.state === "updating" || st?.state === "rollback_started";
  const failing = failures > 0 && failures / total > cfg.maxFailureRatio &&
    cfg.failureAction !== "continue";
  // A new task of the last batch that failed leaves nothing outdated or in flight: the update
  // is not complete for that, its failure action is due.
  const updating = outdatedSlots.length > 0 || (underway && (inFlight > 0 || failing));
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
  if (failing) {
    const msg =
      `${failures} new task(s) failed, of ${total} to update (max failure ratio ${cfg.maxFailureRatio})`;
    if (cfg.failureAction === "rollback" && !rollingBack && service.previousSpec) {
      out.rollback = true;
      out.status = { state: "rollback_started", message: `${msg}: rolling back`, startedAt: now };
    } else {
      out.status = {
        state: "paused",
        message: `${msg}: ${rollingBack ? "rollback" : "update"} paused`,
        startedAt: st?.startedAt ?? now,
      };
    }
    return out;
  }
  const parallelism = cfg.parallelism === 0 ? Infinity : cfg.parallelism;
  if (inFlight > 0) pacing.settledAt = undefined;
  if (inFlight >= parallelism || outdatedSlots.length === 0) return out;
  if (inFlight === 0 && pacing.lastBatchAt > 0 && cfg.delayMs > 0) {
    // The delay runs from when the batch settled, not from when it started: a batch that
    // took longer than the delay still gets its pause after it.
    pacing.settledAt ??= now;
    if (now - pacing.settledAt < cfg.delayMs) {
      out.actions.wakeAt = pacing.settledAt + cfg.delayMs;
      return out;
    }
  }
  const batch = outdatedSlots.sort(byKey).slice(0, parallelism - inFlight);
  for (const slot of batch) {
    if (revived.has(slot)) {
      // Nothing runs there to stop or to start beside: the new task is created either way.
      out.actions.create.push(units.fresh(slot));
    } else if (cfg.order === "stop-first") {
      // Only the stop: the new task follows once the old ones have stopped (see the module doc).
      for (const o of (slots.get(slot) ?? []).filter(isLive)) {
        out.actions.desired.push({ taskId: o.id, desiredState: "shutdown", reason: "updating" });
      }
    } else {
      out.actions.create.push(units.fresh(slot));
    }
  }
  pacing.lastBatchAt = now;
  pacing.settledAt = undefined;
  return out;
}

function byKey(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

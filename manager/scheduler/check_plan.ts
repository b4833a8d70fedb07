/**
 * `checkPlan(plan, latest)`: the plan applier's gate (Nomad's single writer). A plan was computed
 * from a snapshot that may be stale by the time it is applied: other plans may have been
 * committed, nodes drained, services changed. The leader's one writer runs every plan through
 * this function against the latest committed state and commits only what it accepts, so no
 * node is ever oversubscribed even when several plans were computed concurrently.
 * @module
 */
import { ClusterView } from "./cluster_view.ts";
import { runFilters } from "./filter.ts";
import { FILTERS } from "./filters/mod.ts";
import { resolveRequest, type TaskRequest } from "./request.ts";
import type { Placement, Plan, SchedulerSnapshot } from "./types.ts";

/** A placement the check refused, and why. */
export interface RejectedPlacement extends Placement {
  /** E.g. `node worker-1 lacks 2 GiB memory`. */
  reason: string;
}

/** What survives the check. */
export interface CheckedPlan {
  /** The accepted plan: valid placements, their volume bindings, and the other buckets. */
  plan: Plan;
  /** Placements refused; their tasks should be scheduled again. */
  rejected: RejectedPlacement[];
}

/**
 * Re-validates every placement of `plan`, in order, against `latest` with the full filter
 * pipeline (eligibility, constraints, volumes, resources, host ports, max per node), counting
 * the placements already accepted. A task that `latest` shows already assigned is refused
 * (another plan won). Volume bindings are recomputed from the accepted placements. Stop orders
 * are always safe and pass through, as do `update` and `pending`. The image platform is not
 * re-checked: a node's platform never changes.
 */
export function checkPlan(plan: Plan, latest: SchedulerSnapshot): CheckedPlan {
  const view = new ClusterView(latest);
  const assigned = new Map(latest.tasks.map((t) => [t.id, t.nodeId]));
  const requests = new Map<string, TaskRequest | string>();
  const out: Plan = {
    createdAtMs: plan.createdAtMs,
    place: [],
    stop: plan.stop.slice(),
    update: plan.update.slice(),
    pending: plan.pending.slice(),
    volumeBindings: [],
  };
  const rejected: RejectedPlacement[] = [];
  const seen = new Set<string>();
  for (const p of plan.place) {
    const reject = (reason: string) => rejected.push({ ...p, reason });
    const onNode = assigned.get(p.taskId);
    if (onNode !== undefined) {
      reject(`task is already assigned to node ${view.nodeName(onNode)}`);
      continue;
    }
    if (seen.has(p.taskId)) {
      reject("task is placed twice in one plan");
      continue;
    }
    let req = requests.get(p.serviceId);
    if (req === undefined) {
      const service = latest.services.get(p.serviceId);
      req = service === undefined
        ? `service ${p.serviceId} no longer exists`
        : resolveRequest(service, undefined);
      requests.set(p.serviceId, req);
    }
    if (typeof req === "string") {
      reject(req);
      continue;
    }
    const info = view.byId.get(p.nodeId);
    if (!info) {
      reject(`node ${p.nodeId} no longer exists`);
      continue;
    }
    const r = runFilters(FILTERS, info, req, view);
    if (r !== "ok") {
      reject(`node ${info.node.hostname} ${r.reason}`);
      continue;
    }
    seen.add(p.taskId);
    out.place.push(p);
    for (const b of view.place(info, req)) out.volumeBindings.push(b);
  }
  return { plan: out, rejected };
}

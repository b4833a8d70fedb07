/**
 * Global services: one task per eligible node (pure). A node that becomes eligible gets a task;
 * a node that leaves, drains or stops qualifying has its task stopped. Dead tasks on a node are
 * replaced on the same node per the restart policy.
 * @module
 */
import type { Service, Task } from "../../proto/schema/mod.ts";
import { isTerminal } from "../../proto/schema/mod.ts";
import { type Actions, noActions } from "./actions.ts";
import { restartDecision } from "./restart.ts";
import { isLive } from "./replicated.ts";

/** Decides creates and stops so that every node in `eligible` runs exactly one task. */
export function reconcileGlobal(
  service: Service,
  tasks: readonly Task[],
  eligible: ReadonlySet<string>,
  now: number,
): Actions {
  const out = noActions();
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.nodeId === undefined) continue;
    const list = byNode.get(t.nodeId);
    if (list) list.push(t);
    else byNode.set(t.nodeId, [t]);
  }
  for (const list of byNode.values()) list.sort((a, b) => b.createdAt - a.createdAt);
  for (const [nodeId, list] of byNode) {
    if (eligible.has(nodeId)) continue;
    for (const t of list) {
      if (isLive(t)) {
        out.desired.push({
          taskId: t.id,
          desiredState: "shutdown",
          reason: `node ${nodeId} no longer runs this global service`,
        });
      }
    }
  }
  for (const nodeId of eligible) {
    const list = byNode.get(nodeId) ?? [];
    const live = list.filter(isLive);
    for (const extra of live.slice(1)) {
      out.desired.push({ taskId: extra.id, desiredState: "shutdown", reason: "one task per node" });
    }
    const current = live[0];
    if (!current) {
      const latest = list[0];
      if (
        latest && latest.desiredState !== "shutdown" && latest.desiredState === latest.status.state
      ) continue;
      out.create.push({ serviceId: service.id, nodeId, specVersion: service.specVersion });
      continue;
    }
    if (!isTerminal(current.status.state)) continue;
    const d = restartDecision(current, service.spec.restartPolicy, list.slice(1), now);
    if (d.kind === "replace") {
      out.desired.push({ taskId: current.id, desiredState: "shutdown", reason: "replaced" });
      out.create.push({ serviceId: service.id, nodeId, specVersion: service.specVersion });
    } else if (d.kind === "wait") {
      out.wakeAt = out.wakeAt === undefined ? d.until : Math.min(out.wakeAt, d.until);
    } else {
      out.desired.push({
        taskId: current.id,
        desiredState: current.status.state,
        reason: d.reason,
      });
    }
  }
  return out;
}

/**
 * Finding the task a user means: a task ID, or `SERVICE.SLOT` (`web.1`) / `SERVICE.NODE` for a
 * global task, as `warren service ps` prints them. Several tasks may have filled a slot over time;
 * the one meant to run now wins, else the newest.
 * @module
 */
import { NotFoundError } from "../../proto/errors.ts";
import { isTerminal, type Task, taskName } from "../../proto/schema/mod.ts";
import { type ClusterState, tasksOfService } from "../state/fsm_state.ts";
import { idByPrefix } from "./context.ts";

/** The task `ref` names. @throws NotFoundError naming `ref` */
export function resolveTaskRef(s: ClusterState, ref: string): Task {
  const direct = s.tasks.get(ref);
  if (direct) return direct;
  const dot = ref.lastIndexOf(".");
  if (dot > 0) {
    const name = ref.slice(0, dot);
    const which = ref.slice(dot + 1);
    const serviceId = s.serviceIdByName.get(name) ?? (s.services.has(name) ? name : undefined);
    if (serviceId !== undefined) {
      const candidates = tasksOfService(s, serviceId).filter((t) =>
        String(t.slot) === which || (t.slot === undefined && matchesNode(s, t, which))
      );
      const best = candidates.sort((a, b) =>
        Number(isTerminal(a.desiredState)) - Number(isTerminal(b.desiredState)) ||
        b.createdAt - a.createdAt
      )[0];
      if (best) {
        return best;
      }
    }
  }
  const id = idByPrefix(s.tasks.keys(), ref, "task");
  if (id !== undefined) return s.tasks.get(id)!;
  throw new NotFoundError("task", ref);
}

function matchesNode(s: ClusterState, t: Task, which: string): boolean {
  if (t.nodeId === undefined) return false;
  return t.nodeId === which || s.nodes.get(t.nodeId)?.hostname === which;
}

/** `web.1` (or `agent.<node>`) for a task; its ID when the service is gone. */
export function displayName(s: ClusterState, t: Task): string {
  const svc = s.services.get(t.serviceId);
  if (!svc) return t.id;
  if (t.slot === undefined && t.nodeId !== undefined) {
    return `${svc.spec.name}.${s.nodes.get(t.nodeId)?.hostname ?? t.nodeId}`;
  }
  return taskName(svc.spec.name, t);
}

/** Host name of the task's node (its ID when unknown). */
export function nodeName(s: ClusterState, t: Task): string {
  if (t.nodeId === undefined) return "";
  return s.nodes.get(t.nodeId)?.hostname ?? t.nodeId;
}

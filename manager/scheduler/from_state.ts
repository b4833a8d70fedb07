/**
 * Feeds the scheduler from the replicated store: the narrow {@link SchedulerSnapshot} of a
 * {@link ClusterState}. A task occupies its node from assignment until its observed state is
 * terminal, even when the manager already asked it to stop (its container still holds the
 * resources and ports). Its reservation comes from the spec version it runs: the current spec,
 * or the previous one while a rolling update or rollback is under way.
 * @module
 */
import { isTerminal, runsCurrentSpec, type Service, type Task } from "../../proto/schema/mod.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { SchedulerSnapshot, SchedulerTask } from "./types.ts";

function specOf(service: Service, task: Task): Service["spec"] {
  if (runsCurrentSpec(service, task.specVersion) || service.previousSpec === undefined) {
    return service.spec;
  }
  return service.previousSpec;
}

/** The scheduler's view of one assigned, non-terminal task; undefined for any other task. */
export function schedulerTask(
  task: Task,
  services: ReadonlyMap<string, Service>,
): SchedulerTask | undefined {
  if (task.nodeId === undefined || isTerminal(task.status.state)) return undefined;
  const service = services.get(task.serviceId);
  const spec = service === undefined ? undefined : specOf(service, task);
  return {
    id: task.id,
    serviceId: task.serviceId,
    nodeId: task.nodeId,
    reservations: {
      nanoCpus: spec?.resources.reservations.nanoCpus ?? 0,
      memoryBytes: spec?.resources.reservations.memoryBytes ?? 0,
    },
    hostPorts: (spec?.ports ?? [])
      .filter((p) => p.publishMode === "host" && p.published !== undefined)
      .map((p) => `${p.published}/${p.protocol}`),
    volumes: (spec?.mounts ?? []).filter((m) => m.type === "volume" && m.source).map((m) =>
      m.source!
    ),
    stopping: isTerminal(task.desiredState),
  };
}

/** The scheduler snapshot of the replicated state. O(nodes + tasks + volumes). */
export function snapshotFromState(state: ClusterState): SchedulerSnapshot {
  const tasks: SchedulerTask[] = [];
  for (const t of state.tasks.values()) {
    const st = schedulerTask(t, state.services);
    if (st) tasks.push(st);
  }
  return {
    nodes: [...state.nodes.values()],
    tasks,
    services: state.services,
    volumes: [...state.volumes.values()],
  };
}

/**
 * Feeds the scheduler from the replicated store: the narrow {@link SchedulerSnapshot} of a
 * {@link ClusterState}. A task occupies its node from assignment until its observed state is
 * terminal, even when the manager already asked it to stop (its container still holds the
 * resources and ports). Its reservations, host ports and volumes are those it recorded when it
 * was created (`Task.reserves`, cluster feature level 2): exact whatever version it runs. A task
 * created before that (or replayed from an older log) has none; it is counted with the spec of
 * its version as the service still knows it: the current spec, or the previous one while a
 * rolling update or rollback is under way (wrong only for a version older than both).
 * @module
 */
import {
  hostPortKey,
  isTerminal,
  type Service,
  specOfVersion,
  type Task,
  type TaskReserves,
  taskReservesOf,
} from "../../proto/schema/mod.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { SchedulerSnapshot, SchedulerTask } from "./types.ts";

const NOTHING: TaskReserves = { nanoCpus: 0, memoryBytes: 0, hostPorts: [], volumes: [] };

/** What `task` holds on its node: its own record, else what its service's spec says. */
function reservesOf(task: Task, services: ReadonlyMap<string, Service>): TaskReserves {
  if (task.reserves !== undefined) return task.reserves;
  const service = services.get(task.serviceId);
  return service === undefined ? NOTHING : taskReservesOf(specOfVersion(service, task.specVersion));
}

/** The scheduler's view of one assigned, non-terminal task; undefined for any other task. */
export function schedulerTask(
  task: Task,
  services: ReadonlyMap<string, Service>,
): SchedulerTask | undefined {
  if (task.nodeId === undefined || isTerminal(task.status.state)) return undefined;
  const r = reservesOf(task, services);
  return {
    id: task.id,
    serviceId: task.serviceId,
    nodeId: task.nodeId,
    reservations: { nanoCpus: r.nanoCpus, memoryBytes: r.memoryBytes },
    hostPorts: r.hostPorts.map(hostPortKey),
    volumes: r.volumes,
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

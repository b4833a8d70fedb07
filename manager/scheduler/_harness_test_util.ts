/**
 * Test harness: builds scheduler snapshots tersely, runs the scheduler with a seed, applies
 * plans, and checks invariants. Used by the unit, property and benchmark code; pure like the
 * rest of the folder.
 * @module
 */
import type { Arch, NodeAvailability, NodeState } from "../../proto/schema/mod.ts";
import { xoshiro128 } from "../raft/core/prng.ts";
import type { FilterContext } from "./filter.ts";
import { NodeInfo } from "./node_info.ts";
import { resolveRequest, type TaskRequest } from "./request.ts";
import { schedule } from "./schedule.ts";
import type {
  Plan,
  SchedulerNode,
  SchedulerService,
  SchedulerSnapshot,
  SchedulerTask,
  SchedulerVolume,
  Strategy,
  Work,
  WorkItem,
} from "./types.ts";

/** One MiB in bytes. */
export const MiB = 1024 * 1024;
/** One GiB in bytes. */
export const GiB = 1024 * MiB;
/** One CPU in nano-CPUs. */
export const CPU = 1e9;

/** Node options; defaults: 4 CPUs, 8 GiB, worker, linux/amd64, active, ready. */
export interface NodeOpts {
  hostname?: string;
  nanoCpus?: number;
  memoryBytes?: number;
  labels?: Record<string, string>;
  role?: "manager" | "worker";
  os?: string;
  arch?: Arch;
  availability?: NodeAvailability;
  state?: NodeState;
}

/** A node `id` (hostname = id unless given). */
export function node(id: string, o: NodeOpts = {}): SchedulerNode {
  return {
    id,
    hostname: o.hostname ?? id,
    role: o.role ?? "worker",
    labels: o.labels ?? {},
    resources: { nanoCpus: o.nanoCpus ?? 4 * CPU, memoryBytes: o.memoryBytes ?? 8 * GiB },
    platform: { os: o.os ?? "linux", arch: o.arch ?? "amd64" },
    availability: o.availability ?? "active",
    status: { state: o.state ?? "ready" },
  };
}

/** `count` nodes `${prefix}1..N`, `labels(i)` optional per node. */
export function nodes(
  count: number,
  o: NodeOpts & { prefix?: string; labelsOf?: (i: number) => Record<string, string> } = {},
): SchedulerNode[] {
  return Array.from(
    { length: count },
    (_, i) => node(`${o.prefix ?? "n"}${i + 1}`, { ...o, labels: o.labelsOf?.(i) ?? o.labels }),
  );
}

/** Service options; defaults: replicated, no reservations, no constraints. */
export interface ServiceOpts {
  name?: string;
  mode?: "replicated" | "global";
  nanoCpus?: number;
  memoryBytes?: number;
  constraints?: string[];
  /** Label keys to spread over (`zone` for `node.labels.zone`). */
  spread?: string[];
  maxReplicasPerNode?: number;
  /** Host-mode published ports (tcp). */
  hostPorts?: number[];
  /** Named volumes mounted (at /data/<name>). */
  volumes?: string[];
}

/** A service `id` (name = id unless given). */
export function service(id: string, o: ServiceOpts = {}): SchedulerService {
  return {
    id,
    spec: {
      name: o.name ?? id,
      mode: o.mode ?? "replicated",
      resources: {
        limits: {},
        reservations: {
          ...(o.nanoCpus === undefined ? {} : { nanoCpus: o.nanoCpus }),
          ...(o.memoryBytes === undefined ? {} : { memoryBytes: o.memoryBytes }),
        },
      },
      constraints: o.constraints ?? [],
      preferences: (o.spread ?? []).map((l) => ({ spread: `node.labels.${l}` })),
      maxReplicasPerNode: o.maxReplicasPerNode ?? 0,
      ports: (o.hostPorts ?? []).map((p) => ({
        protocol: "tcp" as const,
        target: p,
        published: p,
        publishMode: "host" as const,
      })),
      mounts: (o.volumes ?? []).map((v) => ({
        type: "volume" as const,
        source: v,
        target: `/data/${v}`,
        readOnly: false,
      })),
    },
  };
}

/** A running task of `svc` on `nodeId`, reserving what the service's spec reserves. */
export function task(
  id: string,
  svc: SchedulerService,
  nodeId: string,
  o: { stopping?: boolean } = {},
): SchedulerTask {
  const r = svc.spec.resources.reservations;
  return {
    id,
    serviceId: svc.id,
    nodeId,
    reservations: { nanoCpus: r.nanoCpus ?? 0, memoryBytes: r.memoryBytes ?? 0 },
    hostPorts: svc.spec.ports.filter((p) => p.publishMode === "host" && p.published)
      .map((p) => `${p.published}/${p.protocol}`),
    volumes: svc.spec.mounts.filter((m) => m.type === "volume").map((m) => m.source!),
    ...(o.stopping ? { stopping: true } : {}),
  };
}

/** A volume (unbound unless `nodeId` is given). */
export function volume(name: string, nodeId?: string): SchedulerVolume {
  return { id: `vol-${name}`, name, ...(nodeId === undefined ? {} : { nodeId }) };
}

/** A snapshot from plain lists. */
export function snapshot(parts: {
  nodes?: readonly SchedulerNode[];
  services?: readonly SchedulerService[];
  tasks?: readonly SchedulerTask[];
  volumes?: readonly SchedulerVolume[];
}): SchedulerSnapshot {
  return {
    nodes: parts.nodes ?? [],
    services: new Map((parts.services ?? []).map((s) => [s.id, s])),
    tasks: parts.tasks ?? [],
    volumes: parts.volumes ?? [],
  };
}

/** `count` work items `${serviceId}.${slot}` for slots `firstSlot..`. */
export function replicas(
  serviceId: string,
  count: number,
  o: { firstSlot?: number; imagePlatforms?: string[] } = {},
): WorkItem[] {
  const first = o.firstSlot ?? 1;
  return Array.from({ length: count }, (_, i) => ({
    taskId: `${serviceId}.${first + i}`,
    serviceId,
    slot: first + i,
    ...(o.imagePlatforms ? { imagePlatforms: o.imagePlatforms } : {}),
  }));
}

/** Runs the scheduler with a seeded PRNG. */
export function run(
  snap: SchedulerSnapshot,
  work: WorkItem[] | Work,
  o: { seed?: number; strategy?: Strategy } = {},
): Plan {
  return schedule(snap, Array.isArray(work) ? { place: work } : work, {
    now: 1_000,
    rand: xoshiro128(o.seed ?? 1),
    ...(o.strategy ? { strategy: o.strategy } : {}),
  });
}

/** The snapshot after committing `plan`: placed tasks added, stopped ones marked, volumes bound. */
export function applyPlan(snap: SchedulerSnapshot, plan: Plan): SchedulerSnapshot {
  const stopped = new Set(plan.stop.map((s) => s.taskId));
  const bound = new Map(plan.volumeBindings.map((b) => [b.volumeName, b.nodeId]));
  const volumes = snap.volumes.map((v) =>
    v.nodeId === undefined && bound.has(v.name) ? { ...v, nodeId: bound.get(v.name)! } : v
  );
  for (const [name, nodeId] of bound) {
    if (!volumes.some((v) => v.name === name)) volumes.push({ ...volume(name), nodeId });
  }
  return {
    ...snap,
    tasks: [
      ...snap.tasks.map((t) => stopped.has(t.id) ? { ...t, stopping: true } : t),
      ...plan.place.map((p) => task(p.taskId, snap.services.get(p.serviceId)!, p.nodeId)),
    ],
    volumes,
  };
}

/** Tasks of `serviceId` per node ID in `snap` (nodes without any are absent). */
export function countsByNode(snap: SchedulerSnapshot, serviceId?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of snap.tasks) {
    if (serviceId !== undefined && t.serviceId !== serviceId) continue;
    out.set(t.nodeId, (out.get(t.nodeId) ?? 0) + 1);
  }
  return out;
}

/** Nodes whose reservations exceed capacity, or with a host port bound twice: `[]` when none. */
export function oversubscribed(snap: SchedulerSnapshot): string[] {
  const problems: string[] = [];
  for (const n of snap.nodes) {
    const here = snap.tasks.filter((t) => t.nodeId === n.id);
    const cpu = here.reduce((s, t) => s + t.reservations.nanoCpus, 0);
    const mem = here.reduce((s, t) => s + t.reservations.memoryBytes, 0);
    if (cpu > n.resources.nanoCpus) problems.push(`${n.id}: cpu ${cpu} > ${n.resources.nanoCpus}`);
    if (mem > n.resources.memoryBytes) {
      problems.push(`${n.id}: memory ${mem} > ${n.resources.memoryBytes}`);
    }
    const ports = here.flatMap((t) => t.hostPorts);
    if (new Set(ports).size !== ports.length) problems.push(`${n.id}: host port bound twice`);
  }
  return problems;
}

/** The resolved request of `svc`'s tasks; throws when the spec cannot be resolved. */
export function request(svc: SchedulerService, imagePlatforms?: string[]): TaskRequest {
  const r = resolveRequest(svc, imagePlatforms);
  if (typeof r === "string") throw new Error(r);
  return r;
}

/** A NodeInfo for `n` carrying `tasks`. */
export function infoOf(n: SchedulerNode, tasks: SchedulerTask[] = []): NodeInfo {
  const info = new NodeInfo(n, 0);
  for (const t of tasks) info.add(t);
  return info;
}

/** A filter context with the given volume bindings (name → node ID); hostnames = IDs. */
export function ctxWith(bindings: Record<string, string> = {}): FilterContext {
  return { volumeNodeId: (name) => bindings[name], nodeName: (id) => id };
}

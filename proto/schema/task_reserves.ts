/**
 * What a task holds on its node: the scheduler-relevant facts of the spec it runs, recorded on
 * the task when it is created (as swarmkit's task carries its own copy of its spec). The
 * service keeps only its current and previous specs, so a task of an older version (an update
 * on top of an unfinished rollout, a replicas-only write during one) runs a spec the state no
 * longer has: without its own copy its reservations, host ports and volumes could not be
 * counted right.
 * @module
 */
import { z } from "zod";
import { DnsLabelSchema, MAX_SAFE } from "./common.ts";
import { MAX_MOUNTS } from "./mounts.ts";
import { MAX_PORTS, PortProtocolSchema } from "./ports.ts";
import type { ServiceSpec } from "./service_spec.ts";

/** A host-mode published port a task binds on its node. */
export const TaskHostPortSchema = z.strictObject({
  /** Port bound on the node. */
  published: z.number().int().min(1).max(65535),
  /** tcp or udp. */
  protocol: PortProtocolSchema,
});
/** A host-mode published port of a task. */
export type TaskHostPort = z.infer<typeof TaskHostPortSchema>;

/** The reservations, host ports and volumes of the spec a task runs. */
export const TaskReservesSchema = z.strictObject({
  /** Reserved CPU in units of 1e-9 cores (0: none). */
  nanoCpus: z.number().int().min(0).max(MAX_SAFE).default(0),
  /** Reserved memory in bytes (0: none). */
  memoryBytes: z.number().int().min(0).max(MAX_SAFE).default(0),
  /** Host-mode published ports it binds. */
  hostPorts: z.array(TaskHostPortSchema).max(MAX_PORTS).default([]),
  /** Names of the volumes it mounts. */
  volumes: z.array(DnsLabelSchema).max(MAX_MOUNTS).default([]),
});
/** What a task holds on its node. */
export type TaskReserves = z.infer<typeof TaskReservesSchema>;

/** The spec fields a task's {@link TaskReserves} come from. A full {@link ServiceSpec} fits. */
export type ReservingSpec = Pick<ServiceSpec, "resources" | "ports" | "mounts">;

/** What a task made from `spec` holds on its node. */
export function taskReservesOf(spec: ReservingSpec): TaskReserves {
  const hostPorts: TaskHostPort[] = [];
  for (const p of spec.ports) {
    if (p.publishMode === "host" && p.published !== undefined) {
      hostPorts.push({ published: p.published, protocol: p.protocol });
    }
  }
  const volumes: string[] = [];
  for (const m of spec.mounts) if (m.type === "volume" && m.source) volumes.push(m.source);
  return {
    nanoCpus: spec.resources.reservations.nanoCpus ?? 0,
    memoryBytes: spec.resources.reservations.memoryBytes ?? 0,
    hostPorts,
    volumes,
  };
}

/** A host port as the scheduler keys it: `port/protocol`, e.g. `8080/tcp`. */
export function hostPortKey(p: TaskHostPort): string {
  return `${p.published}/${p.protocol}`;
}

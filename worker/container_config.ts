/**
 * Turns an assignment (task + service spec) into the runtime's container config: command and
 * args, env, user, limits, labels, mounts, secrets, network, stop signal and log file.
 * @module
 */
import { type Assignment, taskName } from "../proto/schema/mod.ts";
import {
  type ContainerConfig,
  Labels,
  type NetworkMode,
  type SecretFile,
  type VolumeMount,
} from "../runtime/runtime.ts";

/** Extra label keys on Warren containers (beyond runtime.ts's {@link Labels}). */
export const WorkerLabels = {
  serviceName: "warren.service.name",
  slot: "warren.task.slot",
  specVersion: "warren.service.spec-version",
} as const;

/** What the worker resolved for the task before creating its container. */
export interface ResolvedTaskInputs {
  nodeId: string;
  mounts: VolumeMount[];
  secrets: SecretFile[];
  network: NetworkMode;
  logPath: string;
}

/** The container config of `a`. */
export function containerConfig(a: Assignment, r: ResolvedTaskInputs): ContainerConfig {
  const { task, spec } = a;
  const limits = spec.resources.limits;
  return {
    taskId: task.id,
    image: spec.image,
    ...(spec.command.length > 0 ? { entrypoint: spec.command } : {}),
    ...(spec.args.length > 0 ? { command: spec.args } : {}),
    env: spec.env,
    ...(spec.workdir ? { cwd: spec.workdir } : {}),
    ...(spec.user ? { user: spec.user } : {}),
    hostname: spec.hostname ?? hostnameOf(taskName(a.serviceName, task)),
    labels: {
      ...spec.containerLabels,
      [Labels.serviceId]: task.serviceId,
      [Labels.nodeId]: r.nodeId,
      [WorkerLabels.serviceName]: a.serviceName,
      [WorkerLabels.specVersion]: String(task.specVersion),
      ...(task.slot !== undefined ? { [WorkerLabels.slot]: String(task.slot) } : {}),
    },
    ...(limits.nanoCpus !== undefined ? { cpus: limits.nanoCpus / 1e9 } : {}),
    ...(limits.memoryBytes !== undefined ? { memoryBytesMax: limits.memoryBytes } : {}),
    mounts: r.mounts,
    secrets: r.secrets,
    network: r.network,
    readonlyRootfs: spec.readOnlyRootfs,
    stopSignal: spec.stopSignal,
    log: { path: r.logPath },
  };
}

/** A task name made a valid host name label sequence (`web.1` stays `web.1`). */
function hostnameOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]/g, "-").slice(0, 63).replace(/^-+|-+$/g, "") ||
    "task";
}

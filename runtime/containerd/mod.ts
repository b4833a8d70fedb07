/**
 * Warren's containerd runtime building blocks: the only code that talks to containerd.
 *
 * ```
 * pullImage ─▶ createContainer(spec from buildSpec) ─▶ startTask ─▶ waitTask / stopTask ─▶ removeContainer
 * ```
 *
 * {@link ContainerdRuntime} assembles them into Warren's `Runtime` (runtime/runtime.ts);
 * {@link ContainerdSupervisor} runs Warren's own containerd when no socket is configured.
 */
export {
  type CallOptions,
  ContainerdClient,
  type ContainerdClientOptions,
  ContainerdError,
  DEFAULT_NAMESPACE,
  isContainerdCode,
} from "./client.ts";
export {
  createContainer,
  type CreateContainerInput,
  type ExitStatus,
  killTask,
  removeContainer,
  startTask,
  type StopOptions,
  stopTask,
  type TaskIo,
  waitTask,
} from "./container.ts";
export { createLease, type Lease, type LeaseOptions, withLease } from "./lease.ts";
export { type Arch, hostPlatform, type OciImageConfig, type Platform } from "./oci.ts";
export { type PulledImage, pullImage, type PullOptions, type PullProgress } from "./pull.ts";
export { type ImageReference, parseReference } from "./reference.ts";
export type { RegistryCredentials } from "./registry.ts";
export {
  type BindMount,
  buildSpec,
  type RuntimeSpec,
  type SpecInput,
  type SpecNetwork,
  type TmpfsMount,
} from "./spec.ts";
export { ContainerdRuntime, type ContainerdRuntimeOptions, RuntimeLabels } from "./runtime.ts";
export { ContainerdSupervisor, type ContainerdSupervisorOptions } from "./supervisor.ts";

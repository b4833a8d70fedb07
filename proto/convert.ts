/**
 * The one converter between wire messages (proto/gen, generated from warren.proto) and domain
 * types (proto/schema, zod). Every wire message has an entry in {@link codecs}:
 *
 *   codecs.ServiceSpec.toWire(spec)           domain → wire (no validation: domain is valid)
 *   codecs.ServiceSpec.fromWire(msg, "spec")  wire → domain, validated with the zod schema;
 *                                             throws ValidationError("spec.replicas", ...)
 *
 * Wire → domain maps "not set" markers to `undefined` before parsing, so zod defaults apply:
 * enum 0 (UNSPECIFIED), the empty string, absent `optional` scalars and absent messages.
 * Domain byte fields are base64 strings (they travel in JSON too) except Raft messages, which
 * stay Uint8Array.
 */
import * as d from "./schema/mod.ts";
import { type Codec, codec } from "./_convert_base.ts";
import {
  decAddresses,
  decAmounts,
  decCidrs,
  decCluster,
  decManagerLevel,
  decNode,
  decNodeStatus,
  decPeer,
  decPlatform,
  decRaft,
  decResources,
  decSecret,
  decVolume,
  decWireGuard,
  encAddresses,
  encAmounts,
  encCidrs,
  encCluster,
  encManagerLevel,
  encNode,
  encNodeStatus,
  encPeer,
  encPlatform,
  encRaft,
  encResources,
  encSecret,
  encVolume,
  encWireGuard,
} from "./_convert_node.ts";
import {
  decBlueGreen,
  decCanary,
  decCanaryStep,
  decDeployment,
  decExec,
  decHealth,
  decHttp,
  decMount,
  decPort,
  decPreference,
  decRestart,
  decSecretRef,
  decServiceResources,
  decSpec,
  decTcp,
  decUpdate,
  encBlueGreen,
  encCanary,
  encCanaryStep,
  encDeployment,
  encExec,
  encHealth,
  encHttp,
  encMount,
  encPort,
  encPreference,
  encRestart,
  encSecretRef,
  encServiceResources,
  encSpec,
  encTcp,
  encUpdate,
} from "./_convert_spec.ts";
import {
  decService,
  decTask,
  decTaskHostPort,
  decTaskReserves,
  decTaskStatus,
  decUpdateStatus,
  encService,
  encTask,
  encTaskHostPort,
  encTaskReserves,
  encTaskStatus,
  encUpdateStatus,
} from "./_convert_task.ts";
import { apiCodecs } from "./_convert_api.ts";
import { workerCodecs } from "./_convert_worker.ts";
import { streamCodecs } from "./_convert_streams.ts";

export { type Codec, enums } from "./_convert_base.ts";

/** Codecs of the domain objects and their parts. */
const objectCodecs = {
  // shared and node
  Resources: codec(d.ResourcesSchema, encResources, decResources),
  ResourceAmounts: codec(d.ResourceAmountsSchema, encAmounts, decAmounts),
  ManagerPeer: codec(d.ManagerPeerSchema, encPeer, decPeer),
  Platform: codec(d.PlatformSchema, encPlatform, decPlatform),
  NodeAddresses: codec(d.NodeAddressesSchema, encAddresses, decAddresses),
  NodeStatus: codec(d.NodeStatusSchema, encNodeStatus, decNodeStatus),
  NodeWireGuard: codec(d.NodeWireGuardSchema, encWireGuard, decWireGuard),
  Node: codec(d.NodeSchema, encNode, decNode),
  // service spec
  ServiceResources: codec(d.ServiceResourcesSchema, encServiceResources, decServiceResources),
  PlacementPreference: codec(d.PlacementPreferenceSchema, encPreference, decPreference),
  Port: codec(d.PortSchema, encPort, decPort),
  SecretRef: codec(d.SecretRefSchema, encSecretRef, decSecretRef),
  Mount: codec(d.MountSchema, encMount, decMount),
  HttpCheck: codec(d.HttpCheckSchema, encHttp, decHttp),
  TcpCheck: codec(d.TcpCheckSchema, encTcp, decTcp),
  ExecCheck: codec(d.ExecCheckSchema, encExec, decExec),
  HealthCheck: codec(d.HealthCheckSchema, encHealth, decHealth),
  RestartPolicy: codec(d.RestartPolicySchema, encRestart, decRestart),
  UpdateConfig: codec(d.UpdateConfigSchema, encUpdate, decUpdate),
  CanaryStep: codec(d.CanaryStepSchema, encCanaryStep, decCanaryStep),
  CanaryConfig: codec(d.CanaryConfigSchema, encCanary, decCanary),
  BlueGreenConfig: codec(d.BlueGreenConfigSchema, encBlueGreen, decBlueGreen),
  Deployment: codec(d.DeploymentSchema, encDeployment, decDeployment),
  ServiceSpec: codec(d.ServiceSpecSchema, encSpec, decSpec),
  // objects
  UpdateStatus: codec(d.UpdateStatusSchema, encUpdateStatus, decUpdateStatus),
  Service: codec(d.ServiceSchema, encService, decService),
  TaskStatus: codec(d.TaskStatusSchema, encTaskStatus, decTaskStatus),
  Task: codec(d.TaskSchema, encTask, decTask),
  TaskHostPort: codec(d.TaskHostPortSchema, encTaskHostPort, decTaskHostPort),
  TaskReserves: codec(d.TaskReservesSchema, encTaskReserves, decTaskReserves),
  Secret: codec(d.SecretSchema, encSecret, decSecret),
  Volume: codec(d.VolumeSchema, encVolume, decVolume),
  RaftStatus: codec(d.RaftStatusSchema, encRaft, decRaft),
  ClusterCidrs: codec(d.ClusterCidrsSchema, encCidrs, decCidrs),
  ManagerFeatureLevel: codec(d.ManagerFeatureLevelSchema, encManagerLevel, decManagerLevel),
  ClusterInfo: codec(d.ClusterInfoSchema, encCluster, decCluster),
} as const;

/**
 * One codec per wire message, keyed by the message name in warren.proto. Request messages that
 * share a shape share a domain type (e.g. every Inspect*Request is a `d.InspectRequest`).
 */
export const codecs = {
  ...objectCodecs,
  ...apiCodecs,
  ...workerCodecs,
  ...streamCodecs,
} as const;

/** Names of the wire messages, as in warren.proto. */
export type MessageName = keyof typeof codecs;
/** Domain type of a wire message. */
export type DomainOf<K extends MessageName> = ReturnType<(typeof codecs)[K]["fromWire"]>;
/** Wire type of a wire message. */
export type WireOf<K extends MessageName> = ReturnType<(typeof codecs)[K]["toWire"]>;

/** Domain → wire for message `name`. */
export function toWire<K extends MessageName>(name: K, value: DomainOf<K>): WireOf<K> {
  return (codecs[name] as unknown as Codec<DomainOf<K>, WireOf<K>>).toWire(value);
}

/** Wire → domain for message `name`, validated (see {@link Codec.fromWire}). */
export function fromWire<K extends MessageName>(
  name: K,
  message: WireOf<K>,
  field?: string,
): DomainOf<K> {
  return (codecs[name] as unknown as Codec<DomainOf<K>, WireOf<K>>).fromWire(message, field);
}

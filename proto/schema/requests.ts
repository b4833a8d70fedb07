/**
 * Requests and responses of the user-facing API (cluster, nodes, services, tasks, secrets,
 * volumes). Each mirrors one message in warren.proto; proto/convert.ts maps between them.
 * List and Inspect requests carry `stale` (opt-in read from the local, possibly stale, copy);
 * list responses carry `index`, the Raft index they reflect.
 */
import { z } from "zod";
import { ClusterInfoSchema } from "./cluster.ts";
import {
  Base64Schema,
  DnsLabelSchema,
  FeatureLevelSchema,
  HostnameSchema,
  HostPortSchema,
  IdSchema,
  LabelsSchema,
  MAX_SAFE,
  ResourcesSchema,
} from "./common.ts";
import {
  NodeAddressesSchema,
  NodeRoleSchema,
  NodeSchema,
  NodeUpdateSchema,
  PlatformSchema,
  WireGuardKeySchema,
} from "./node.ts";
import { ServiceSchema } from "./service.ts";
import { ServiceSpecSchema } from "./service_spec.ts";
import { SecretSchema } from "./secret.ts";
import { TaskSchema } from "./task.ts";
import { VolumeSchema } from "./volume.ts";
import { CidrSchema } from "./common.ts";

/** Most objects a list response may carry. */
export const MAX_LIST = 100_000;

/** A Raft index. */
export const RaftIndexSchema = z.number().int().min(0).max(MAX_SAFE);

const Stale = z.boolean().default(false);
const Empty = z.object({});

/** A manager as peers and workers see it. */
export const ManagerPeerSchema = z.object({
  /** Node ID of the manager. */
  nodeId: IdSchema,
  /** gRPC API `host:port`. */
  apiAddress: HostPortSchema,
  /** Raft transport `host:port`. */
  raftAddress: HostPortSchema,
});
/** A manager peer. */
export type ManagerPeer = z.infer<typeof ManagerPeerSchema>;

/** ClusterService.GetInfo request. */
export const GetClusterInfoRequestSchema = z.object({ stale: Stale });
/** ClusterService.GetJoinToken request. */
export const GetJoinTokenRequestSchema = z.object({
  /** Role the token admits. */
  role: NodeRoleSchema,
  /** Replace the token first (the old one stops working). */
  rotate: z.boolean().default(false),
});
/** A join token for a role. */
export const JoinTokenSchema = z.object({
  /** Role the token admits. */
  role: NodeRoleSchema,
  /** The token. */
  token: z.string().min(1).max(512),
});
/** The form of an unlock key: `WRNKEY-` and 52 base32 characters (32 random bytes). */
export const UnlockKeyTextSchema = z.string().regex(
  /^WRNKEY-[a-z2-7]{52}$/,
  "must be an unlock key as `warren cluster unlock-key` prints it (WRNKEY-...)",
);
/** ClusterService.UpdateAutolock request. */
export const UpdateAutolockRequestSchema = z.object({
  /** Turn autolock on (true) or off (false). */
  autolock: z.boolean(),
  /** With autolock on: replace the unlock key (the old one stops unlocking). */
  rotate: z.boolean().default(false),
});
/** ClusterService.GetUnlockKey request. */
export const GetUnlockKeyRequestSchema = z.object({});
/** The cluster's unlock key, when autolock is on. */
export const UnlockKeySchema = z.object({
  autolock: z.boolean(),
  /** Absent when autolock is off. */
  unlockKey: UnlockKeyTextSchema.optional(),
});
/** ClusterService.Unlock request. */
export const UnlockRequestSchema = z.object({ unlockKey: UnlockKeyTextSchema });

/** ClusterService.Join request, sent by a new node. */
export const JoinRequestSchema = z.object({
  /** Join token (decides the role). */
  token: z.string().min(1).max(512),
  /** Host name of the node. */
  hostname: HostnameSchema,
  /** Where the node is reached. */
  addresses: NodeAddressesSchema,
  /** Schedulable resources. */
  resources: ResourcesSchema.prefault({}),
  /** OS and architecture. */
  platform: PlatformSchema,
  /** Initial node labels. */
  labels: LabelsSchema,
  /** Warren version of the node. */
  version: z.string().min(1).max(64),
  /**
   * The feature level of the joining node's binary (manager/state/fsm_feature_level.ts). A manager
   * below the cluster's active level is refused: it would misunderstand the log. Absent: 1.
   */
  featureLevel: FeatureLevelSchema.optional(),
  /** PEM certificate signing request for the node's key. */
  csrPem: z.string().min(1).max(16 * 1024),
  /** WireGuard public key, if the node has one already. */
  wireguardPublicKey: WireGuardKeySchema.optional(),
  /** WireGuard UDP endpoint `host:port`. */
  wireguardEndpoint: HostPortSchema.optional(),
});
/** ClusterService.Join response. */
export const JoinResponseSchema = z.object({
  /** ID assigned to the node. */
  nodeId: IdSchema,
  /** Role granted by the token. */
  role: NodeRoleSchema,
  /** PEM node certificate. */
  certificatePem: z.string().min(1).max(64 * 1024),
  /** PEM cluster CA certificate. */
  caCertificatePem: z.string().min(1).max(64 * 1024),
  /** Cluster information. */
  cluster: ClusterInfoSchema,
  /** Current managers. */
  managers: z.array(ManagerPeerSchema).max(1_000).default([]),
  /** Task subnet assigned to the node. */
  subnet: CidrSchema,
  /** Managers only: the cluster key-encryption key (base64). */
  clusterKey: Base64Schema.max(256).optional(),
  /** Managers only, while autolock is on: the unlock key, to lock `clusterKey` on disk at once. */
  unlockKey: UnlockKeyTextSchema.optional(),
});
/** ClusterService.RenewCertificate request. */
export const RenewCertificateRequestSchema = z.object({
  csrPem: z.string().min(1).max(16 * 1024),
});
/** ClusterService.IssueCertificate request (admin clients). */
export const IssueCertificateRequestSchema = z.object({
  csrPem: z.string().min(1).max(16 * 1024),
  name: DnsLabelSchema,
});
/** A signed certificate and the cluster CA. */
export const CertificateResponseSchema = z.object({
  certificatePem: z.string().min(1).max(64 * 1024),
  caCertificatePem: z.string().min(1).max(64 * 1024),
});
/** ClusterService.Leave request. */
export const LeaveRequestSchema = z.object({ nodeId: IdSchema, force: z.boolean().default(false) });
/** An empty response. */
export const EmptyResponseSchema = Empty;

/** NodeService.List request. */
export const ListNodesRequestSchema = z.object({ stale: Stale, role: NodeRoleSchema.optional() });
/** NodeService.List response. */
export const ListNodesResponseSchema = z.object({
  nodes: z.array(NodeSchema).max(MAX_LIST).default([]),
  index: RaftIndexSchema,
});
/** Inspect request for any object kind: ID or name, and the stale-read opt-in. */
export const InspectRequestSchema = z.object({ id: IdSchema, stale: Stale });
/** NodeService.Update request. */
export const UpdateNodeRequestSchema = NodeUpdateSchema.extend({ id: IdSchema });
/** Remove/delete request: ID or name, and whether to force it. */
export const RemoveRequestSchema = z.object({ id: IdSchema, force: z.boolean().default(false) });
/** Request naming one object by ID or name. */
export const IdRequestSchema = z.object({ id: IdSchema });

/** ServiceService.Create request. */
export const CreateServiceRequestSchema = z.object({ spec: ServiceSpecSchema });
/** List request of kinds without filters. */
export const ListRequestSchema = z.object({ stale: Stale });
/** ServiceService.List response. */
export const ListServicesResponseSchema = z.object({
  services: z.array(ServiceSchema).max(MAX_LIST).default([]),
  index: RaftIndexSchema,
});
/** ServiceService.Update request. */
export const UpdateServiceRequestSchema = z.object({
  /** Service ID or name. */
  id: IdSchema,
  /** The new spec (complete; defaults apply). */
  spec: ServiceSpecSchema,
  /**
   * Fail unless the service is at this spec version (optimistic concurrency). A scale keeps
   * the spec version: a read-modify-write of the whole spec sends `expectedRevision` too.
   */
  expectedSpecVersion: RaftIndexSchema.optional(),
  /** Fail unless the service is at this revision (`serviceRevision`): nothing wrote its spec. */
  expectedRevision: RaftIndexSchema.optional(),
  /** Replace every task even when the spec changes none of them (`service update --force`). */
  force: z.boolean().optional(),
});
/** ServiceService.Scale request (strict: `{"replicas": 3, "typo": 1}` names `typo`). */
export const ScaleServiceRequestSchema = z.strictObject({
  id: IdSchema,
  replicas: z.number().int().min(0, "must be at least 0").max(10_000, "must be at most 10000"),
});

/** TaskService.List request. */
export const ListTasksRequestSchema = z.object({
  /** Only tasks of this service (ID or name). */
  serviceId: IdSchema.optional(),
  /** Only tasks on this node (ID or host name). */
  nodeId: IdSchema.optional(),
  /** Include terminal tasks kept as history. */
  history: z.boolean().default(false),
  stale: Stale,
});
/** TaskService.List response. */
export const ListTasksResponseSchema = z.object({
  tasks: z.array(TaskSchema).max(MAX_LIST * 10).default([]),
  index: RaftIndexSchema,
});
/** SecretService.List response. */
export const ListSecretsResponseSchema = z.object({
  secrets: z.array(SecretSchema).max(MAX_LIST).default([]),
  index: RaftIndexSchema,
});
/** VolumeService.List response. */
export const ListVolumesResponseSchema = z.object({
  volumes: z.array(VolumeSchema).max(MAX_LIST).default([]),
  index: RaftIndexSchema,
});

/** GetClusterInfo request. */
export type GetClusterInfoRequest = z.infer<typeof GetClusterInfoRequestSchema>;
/** UpdateAutolock request. */
export type UpdateAutolockRequest = z.infer<typeof UpdateAutolockRequestSchema>;
/** An unlock key answer. */
export type UnlockKey = z.infer<typeof UnlockKeySchema>;
/** Unlock request. */
export type UnlockRequest = z.infer<typeof UnlockRequestSchema>;
/** GetJoinToken request. */
export type GetJoinTokenRequest = z.infer<typeof GetJoinTokenRequestSchema>;
/** A join token. */
export type JoinToken = z.infer<typeof JoinTokenSchema>;
/** Join request. */
export type JoinRequest = z.infer<typeof JoinRequestSchema>;
/** Join response. */
export type JoinResponse = z.infer<typeof JoinResponseSchema>;
/** Leave request. */
export type LeaveRequest = z.infer<typeof LeaveRequestSchema>;
/** An empty response. */
export type EmptyResponse = z.infer<typeof EmptyResponseSchema>;
/** ListNodes request. */
export type ListNodesRequest = z.infer<typeof ListNodesRequestSchema>;
/** ListNodes response. */
export type ListNodesResponse = z.infer<typeof ListNodesResponseSchema>;
/** Inspect request. */
export type InspectRequest = z.infer<typeof InspectRequestSchema>;
/** UpdateNode request. */
export type UpdateNodeRequest = z.infer<typeof UpdateNodeRequestSchema>;
/** Remove/delete request with force. */
export type RemoveRequest = z.infer<typeof RemoveRequestSchema>;
/** Request naming one object. */
export type IdRequest = z.infer<typeof IdRequestSchema>;
/** CreateService request. */
export type CreateServiceRequest = z.infer<typeof CreateServiceRequestSchema>;
/** Unfiltered list request. */
export type ListRequest = z.infer<typeof ListRequestSchema>;
/** ListServices response. */
export type ListServicesResponse = z.infer<typeof ListServicesResponseSchema>;
/** UpdateService request. */
export type UpdateServiceRequest = z.infer<typeof UpdateServiceRequestSchema>;
/** ScaleService request. */
export type ScaleServiceRequest = z.infer<typeof ScaleServiceRequestSchema>;
/** ListTasks request. */
export type ListTasksRequest = z.infer<typeof ListTasksRequestSchema>;
/** ListTasks response. */
export type ListTasksResponse = z.infer<typeof ListTasksResponseSchema>;
/** ListSecrets response. */
export type ListSecretsResponse = z.infer<typeof ListSecretsResponseSchema>;
/** ListVolumes response. */
export type ListVolumesResponse = z.infer<typeof ListVolumesResponseSchema>;

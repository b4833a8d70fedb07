/**
 * Messages between workers and the managers' dispatcher (WorkerService) and between managers
 * (RaftService). Plaintext secret data appears here only, on its way to the node whose tasks use
 * it, over mutual TLS.
 */
import { z } from "zod";
import {
  Base64Schema,
  DnsLabelSchema,
  durationMs,
  HostnameSchema,
  HOUR_MS,
  IdSchema,
  isIpv4,
  ResourcesSchema,
} from "./common.ts";
import { NodeAddressesSchema, NodeWireGuardSchema, PlatformSchema } from "./node.ts";
import { EndpointModeSchema, PortSchema } from "./ports.ts";
import { ManagerPeerSchema, RaftIndexSchema } from "./requests.ts";
import { MAX_SECRET_BYTES } from "./secret.ts";
import { ServiceSpecSchema } from "./service_spec.ts";
import { TaskSchema, TaskStatusSchema } from "./task.ts";
import { VolumeSchema } from "./volume.ts";
import { base64DecodedLength } from "./base64.ts";

/** Most items of one kind in one assignments message or status batch. */
export const MAX_BATCH = 100_000;

const SessionId = z.string().min(1).max(128);
const Managers = z.array(ManagerPeerSchema).max(1_000).default([]);
const Ids = z.array(IdSchema).max(MAX_BATCH).default([]);

/** WorkerService.Register request. */
export const RegisterRequestSchema = z.object({
  nodeId: IdSchema,
  hostname: HostnameSchema,
  addresses: NodeAddressesSchema,
  resources: ResourcesSchema.prefault({}),
  platform: PlatformSchema,
  version: z.string().min(1).max(64),
  /** The node's overlay identity, once it has one. */
  wireguard: NodeWireGuardSchema.optional(),
});
/** WorkerService.Register response. */
export const RegisterResponseSchema = z.object({
  sessionId: SessionId,
  /** The worker must heartbeat at least this often. */
  heartbeatPeriodMs: durationMs(HOUR_MS).min(1),
  managers: Managers,
});
/** WorkerService.Heartbeat request. */
export const HeartbeatRequestSchema = z.object({ nodeId: IdSchema, sessionId: SessionId });
/** WorkerService.Heartbeat response. */
export const HeartbeatResponseSchema = z.object({
  heartbeatPeriodMs: durationMs(HOUR_MS).min(1),
  managers: Managers,
});
/** WorkerService.Assignments request. */
export const AssignmentsRequestSchema = HeartbeatRequestSchema;

/** A task for this node with the spec it runs. */
export const AssignmentSchema = z.object({
  task: TaskSchema,
  serviceName: DnsLabelSchema,
  spec: ServiceSpecSchema,
});
/** An assignment. */
export type Assignment = z.infer<typeof AssignmentSchema>;

/** Plaintext secret data (base64) for tasks on this node. */
export const SecretDataSchema = z.object({
  id: IdSchema,
  name: DnsLabelSchema,
  data: Base64Schema.refine((d) => base64DecodedLength(d) <= MAX_SECRET_BYTES, {
    message: `must be at most ${MAX_SECRET_BYTES} bytes`,
  }),
});
/** Secret data. */
export type SecretData = z.infer<typeof SecretDataSchema>;

/** Another node's overlay identity. */
export const OverlayPeerSchema = z.object({ nodeId: IdSchema, wireguard: NodeWireGuardSchema });
/** An overlay peer. */
export type OverlayPeer = z.infer<typeof OverlayPeerSchema>;

/** What DNS and VIP load balancing need to know about a service. */
export const ServiceEndpointSchema = z.object({
  serviceId: IdSchema,
  name: DnsLabelSchema,
  vip: z.string().refine(isIpv4, { message: "must be an IPv4 address" }).optional(),
  endpointMode: EndpointModeSchema.default("vip"),
  ports: z.array(PortSchema).max(64).default([]),
  /** IPs of the service's running tasks, cluster-wide. */
  taskIps: z.array(z.string().refine(isIpv4, { message: "must be an IPv4 address" })).max(10_000)
    .default([]),
});
/** A service endpoint. */
export type ServiceEndpoint = z.infer<typeof ServiceEndpointSchema>;

/**
 * The node's desired work. `complete`: the lists are the whole state (replace everything known);
 * otherwise they are upserts and `removed*` lists are deletions. With `volumesAuthoritative`,
 * `volumes` covers every volume whose data may be on the node (bound to it, or not bound yet), so
 * a volume that leaves the set has been deleted and the worker may delete its directory.
 */
export const AssignmentsMessageSchema = z.object({
  complete: z.boolean(),
  index: RaftIndexSchema,
  assignments: z.array(AssignmentSchema).max(MAX_BATCH).default([]),
  removedTaskIds: Ids,
  secrets: z.array(SecretDataSchema).max(MAX_BATCH).default([]),
  removedSecretIds: Ids,
  volumes: z.array(VolumeSchema).max(MAX_BATCH).default([]),
  removedVolumeIds: Ids,
  /**
   * `volumes` lists every volume that may have data on the node, not only those its tasks mount
   * (false from managers older than this field: a missing volume then proves nothing).
   */
  volumesAuthoritative: z.boolean().default(false),
  peers: z.array(OverlayPeerSchema).max(MAX_BATCH).default([]),
  removedPeerIds: Ids,
  endpoints: z.array(ServiceEndpointSchema).max(MAX_BATCH).default([]),
  removedEndpointIds: Ids,
});
/** An assignments message. */
export type AssignmentsMessage = z.infer<typeof AssignmentsMessageSchema>;

/** One observed task status. */
export const TaskStatusUpdateSchema = z.object({ taskId: IdSchema, status: TaskStatusSchema });
/** WorkerService.ReportStatus request: a batch of statuses. */
export const ReportStatusRequestSchema = z.object({
  nodeId: IdSchema,
  sessionId: SessionId,
  updates: z.array(TaskStatusUpdateSchema).max(10_000).default([]),
});

/** Largest opaque Raft message (a snapshot chunk included). */
export const MAX_RAFT_MESSAGE_BYTES = 16 * 1024 * 1024;

/** RaftService.Send request: opaque Raft messages from one manager to another. */
export const RaftBatchSchema = z.object({
  clusterId: IdSchema,
  fromId: IdSchema,
  toId: IdSchema,
  messages: z.array(
    z.instanceof(Uint8Array).refine((m) => m.byteLength <= MAX_RAFT_MESSAGE_BYTES, {
      message: `must be at most ${MAX_RAFT_MESSAGE_BYTES} bytes`,
    }),
  ).max(10_000).default([]),
});
/** RaftService acknowledgement. */
export const RaftAckSchema = z.object({ accepted: z.number().int().min(0).max(1_000_000) });

/** Register request. */
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;
/** Register response. */
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;
/** Heartbeat request. */
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;
/** Heartbeat response. */
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;
/** Assignments request. */
export type AssignmentsRequest = z.infer<typeof AssignmentsRequestSchema>;
/** A task status update. */
export type TaskStatusUpdate = z.infer<typeof TaskStatusUpdateSchema>;
/** ReportStatus request. */
export type ReportStatusRequest = z.infer<typeof ReportStatusRequestSchema>;
/** A batch of Raft messages. */
export type RaftBatch = z.infer<typeof RaftBatchSchema>;
/** A Raft acknowledgement. */
export type RaftAck = z.infer<typeof RaftAckSchema>;

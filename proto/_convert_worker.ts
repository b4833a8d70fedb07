/** Codecs of the worker and manager-to-manager messages (private to proto/convert.ts). */
import type * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";
import { codec, compact, empty, str } from "./_convert_base.ts";
import {
  decAddresses,
  decPeer,
  decPlatform,
  decResources,
  decVolume,
  decWireGuard,
  encAddresses,
  encPeer,
  encPlatform,
  encResources,
  encVolume,
  encWireGuard,
} from "./_convert_node.ts";
import {
  decAssignment,
  decEndpoint,
  decOverlayPeer,
  decSecretData,
  decStatusUpdate,
  encAssignment,
  encEndpoint,
  encOverlayPeer,
  encSecretData,
  encStatusUpdate,
} from "./_convert_task.ts";

const session = codec(
  d.HeartbeatRequestSchema,
  (r): w.HeartbeatRequest => ({ ...r }),
  (x: w.HeartbeatRequest) => compact({ nodeId: str(x.nodeId), sessionId: str(x.sessionId) }),
);

/** Codecs of the WorkerService and RaftService messages. */
export const workerCodecs = {
  // WorkerService
  RegisterRequest: codec(
    d.RegisterRequestSchema,
    (r): w.RegisterRequest => ({
      nodeId: r.nodeId,
      hostname: r.hostname,
      addresses: encAddresses(r.addresses),
      resources: encResources(r.resources),
      platform: encPlatform(r.platform),
      version: r.version,
      wireguard: r.wireguard && encWireGuard(r.wireguard),
    }),
    (x: w.RegisterRequest) =>
      compact({
        nodeId: str(x.nodeId),
        hostname: str(x.hostname),
        addresses: decAddresses(x.addresses),
        resources: decResources(x.resources),
        platform: decPlatform(x.platform),
        version: str(x.version),
        wireguard: decWireGuard(x.wireguard),
      }),
  ),
  RegisterResponse: codec(
    d.RegisterResponseSchema,
    (r): w.RegisterResponse => ({
      sessionId: r.sessionId,
      heartbeatPeriodMs: r.heartbeatPeriodMs,
      managers: r.managers.map(encPeer),
    }),
    (x: w.RegisterResponse) =>
      compact({
        sessionId: str(x.sessionId),
        heartbeatPeriodMs: x.heartbeatPeriodMs,
        managers: x.managers.map(decPeer),
      }),
  ),
  HeartbeatRequest: session,
  HeartbeatResponse: codec(
    d.HeartbeatResponseSchema,
    (r): w.HeartbeatResponse => ({
      heartbeatPeriodMs: r.heartbeatPeriodMs,
      managers: r.managers.map(encPeer),
    }),
    (x: w.HeartbeatResponse) => ({
      heartbeatPeriodMs: x.heartbeatPeriodMs,
      managers: x.managers.map(decPeer),
    }),
  ),
  AssignmentsRequest: session,
  Assignment: codec(d.AssignmentSchema, encAssignment, decAssignment),
  SecretData: codec(d.SecretDataSchema, encSecretData, decSecretData),
  OverlayPeer: codec(d.OverlayPeerSchema, encOverlayPeer, decOverlayPeer),
  ServiceEndpoint: codec(d.ServiceEndpointSchema, encEndpoint, decEndpoint),
  AssignmentsMessage: codec(
    d.AssignmentsMessageSchema,
    (m): w.AssignmentsMessage => ({
      complete: m.complete,
      index: m.index,
      assignments: m.assignments.map(encAssignment),
      removedTaskIds: [...m.removedTaskIds],
      secrets: m.secrets.map(encSecretData),
      removedSecretIds: [...m.removedSecretIds],
      volumes: m.volumes.map(encVolume),
      removedVolumeIds: [...m.removedVolumeIds],
      volumesAuthoritative: m.volumesAuthoritative,
      peers: m.peers.map(encOverlayPeer),
      removedPeerIds: [...m.removedPeerIds],
      endpoints: m.endpoints.map(encEndpoint),
      removedEndpointIds: [...m.removedEndpointIds],
    }),
    (x: w.AssignmentsMessage) => ({
      complete: x.complete,
      index: x.index,
      assignments: x.assignments.map(decAssignment),
      removedTaskIds: [...x.removedTaskIds],
      secrets: x.secrets.map(decSecretData),
      removedSecretIds: [...x.removedSecretIds],
      volumes: x.volumes.map(decVolume),
      removedVolumeIds: [...x.removedVolumeIds],
      volumesAuthoritative: x.volumesAuthoritative,
      peers: x.peers.map(decOverlayPeer),
      removedPeerIds: [...x.removedPeerIds],
      endpoints: x.endpoints.map(decEndpoint),
      removedEndpointIds: [...x.removedEndpointIds],
    }),
  ),
  TaskStatusUpdate: codec(d.TaskStatusUpdateSchema, encStatusUpdate, decStatusUpdate),
  ReportStatusRequest: codec(
    d.ReportStatusRequestSchema,
    (r): w.ReportStatusRequest => ({
      nodeId: r.nodeId,
      sessionId: r.sessionId,
      updates: r.updates.map(encStatusUpdate),
    }),
    (x: w.ReportStatusRequest) =>
      compact({
        nodeId: str(x.nodeId),
        sessionId: str(x.sessionId),
        updates: x.updates.map(decStatusUpdate),
      }),
  ),
  ReportStatusResponse: empty<w.ReportStatusResponse>(),
  // RaftService
  RaftBatch: codec(
    d.RaftBatchSchema,
    (b): w.RaftBatch => ({
      clusterId: b.clusterId,
      fromId: b.fromId,
      toId: b.toId,
      messages: [...b.messages],
    }),
    (x: w.RaftBatch) =>
      compact({
        clusterId: str(x.clusterId),
        fromId: str(x.fromId),
        toId: str(x.toId),
        messages: [...x.messages],
      }),
  ),
  RaftAck: codec(d.RaftAckSchema, (a): w.RaftAck => ({ ...a }), (x: w.RaftAck) => ({ ...x })),
} as const;

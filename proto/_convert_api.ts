/** Codecs of the user-facing API messages (private to proto/convert.ts). */
import * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";
import { codec, compact, E, empty, level, str } from "./_convert_base.ts";
import {
  decAddresses,
  decCluster,
  decNode,
  decPeer,
  decPlatform,
  decResources,
  decSecret,
  decVolume,
  encAddresses,
  encCluster,
  encNode,
  encPeer,
  encPlatform,
  encResources,
  encSecret,
  encVolume,
} from "./_convert_node.ts";
import { decSpec, encSpec } from "./_convert_spec.ts";
import { decEvent, decService, decTask, encEvent, encService, encTask } from "./_convert_task.ts";

const inspect = codec(
  d.InspectRequestSchema,
  (r): w.InspectNodeRequest => ({ ...r }),
  (x: w.InspectNodeRequest) => compact({ id: str(x.id), stale: x.stale }),
);
const remove = codec(
  d.RemoveRequestSchema,
  (r): w.RemoveNodeRequest => ({ ...r }),
  (x: w.RemoveNodeRequest) => compact({ id: str(x.id), force: x.force }),
);
const byId = codec(
  d.IdRequestSchema,
  (r): w.DeleteServiceRequest => ({ id: r.id }),
  (x: w.DeleteServiceRequest) => compact({ id: str(x.id) }),
);
const list = codec(
  d.ListRequestSchema,
  (r): w.ListServicesRequest => ({ stale: r.stale }),
  (x: w.ListServicesRequest) => ({ stale: x.stale }),
);

/**
 * Codecs of the ClusterService, NodeService, ServiceService, TaskService, SecretService,
 * VolumeService and EventService messages.
 */
export const apiCodecs = {
  // ClusterService
  GetClusterInfoRequest: codec(
    d.GetClusterInfoRequestSchema,
    (r): w.GetClusterInfoRequest => ({ stale: r.stale }),
    (x: w.GetClusterInfoRequest) => ({ stale: x.stale }),
  ),
  GetJoinTokenRequest: codec(
    d.GetJoinTokenRequestSchema,
    (r): w.GetJoinTokenRequest => ({ role: E.NodeRole.toWire(r.role), rotate: r.rotate }),
    (x: w.GetJoinTokenRequest) => compact({ role: E.NodeRole.fromWire(x.role), rotate: x.rotate }),
  ),
  JoinToken: codec(
    d.JoinTokenSchema,
    (t): w.JoinToken => ({ role: E.NodeRole.toWire(t.role), token: t.token }),
    (x: w.JoinToken) => compact({ role: E.NodeRole.fromWire(x.role), token: str(x.token) }),
  ),
  UpdateAutolockRequest: codec(
    d.UpdateAutolockRequestSchema,
    (r): w.UpdateAutolockRequest => ({ autolock: r.autolock, rotate: r.rotate }),
    (x: w.UpdateAutolockRequest) => ({ autolock: x.autolock, rotate: x.rotate }),
  ),
  GetUnlockKeyRequest: codec(
    d.GetUnlockKeyRequestSchema,
    (): w.GetUnlockKeyRequest => ({}),
    () => ({}),
  ),
  UnlockKey: codec(
    d.UnlockKeySchema,
    (k): w.UnlockKey => ({ autolock: k.autolock, unlockKey: k.unlockKey ?? "" }),
    (x: w.UnlockKey) => compact({ autolock: x.autolock, unlockKey: str(x.unlockKey) }),
  ),
  UnlockRequest: codec(
    d.UnlockRequestSchema,
    (r): w.UnlockRequest => ({ unlockKey: r.unlockKey }),
    (x: w.UnlockRequest) => ({ unlockKey: x.unlockKey }),
  ),
  JoinRequest: codec(
    d.JoinRequestSchema,
    (r): w.JoinRequest => ({
      token: r.token,
      hostname: r.hostname,
      addresses: encAddresses(r.addresses),
      resources: encResources(r.resources),
      platform: encPlatform(r.platform),
      labels: { ...r.labels },
      version: r.version,
      csrPem: r.csrPem,
      wireguardPublicKey: r.wireguardPublicKey,
      wireguardEndpoint: r.wireguardEndpoint,
      featureLevel: r.featureLevel ?? 0,
    }),
    (x: w.JoinRequest) =>
      compact({
        token: str(x.token),
        hostname: str(x.hostname),
        addresses: decAddresses(x.addresses),
        resources: decResources(x.resources),
        platform: decPlatform(x.platform),
        labels: { ...x.labels },
        version: str(x.version),
        csrPem: str(x.csrPem),
        wireguardPublicKey: x.wireguardPublicKey,
        wireguardEndpoint: x.wireguardEndpoint,
        featureLevel: level(x.featureLevel),
      }),
  ),
  JoinResponse: codec(
    d.JoinResponseSchema,
    (r): w.JoinResponse => ({
      nodeId: r.nodeId,
      role: E.NodeRole.toWire(r.role),
      certificatePem: r.certificatePem,
      caCertificatePem: r.caCertificatePem,
      cluster: encCluster(r.cluster),
      managers: r.managers.map(encPeer),
      subnet: r.subnet,
      ...(r.clusterKey !== undefined ? { clusterKey: d.decodeBase64(r.clusterKey) } : {}),
      ...(r.unlockKey !== undefined ? { unlockKey: r.unlockKey } : {}),
    }),
    (x: w.JoinResponse) =>
      compact({
        nodeId: str(x.nodeId),
        role: E.NodeRole.fromWire(x.role),
        certificatePem: str(x.certificatePem),
        caCertificatePem: str(x.caCertificatePem),
        cluster: decCluster(x.cluster),
        managers: x.managers.map(decPeer),
        subnet: str(x.subnet),
        clusterKey: x.clusterKey && x.clusterKey.length > 0
          ? d.encodeBase64(x.clusterKey)
          : undefined,
        unlockKey: str(x.unlockKey),
      }),
  ),
  RenewCertificateRequest: codec(
    d.RenewCertificateRequestSchema,
    (r): w.RenewCertificateRequest => ({ csrPem: r.csrPem }),
    (x: w.RenewCertificateRequest) => compact({ csrPem: str(x.csrPem) }),
  ),
  IssueCertificateRequest: codec(
    d.IssueCertificateRequestSchema,
    (r): w.IssueCertificateRequest => ({ csrPem: r.csrPem, name: r.name }),
    (x: w.IssueCertificateRequest) => compact({ csrPem: str(x.csrPem), name: str(x.name) }),
  ),
  CertificateResponse: codec(
    d.CertificateResponseSchema,
    (r): w.CertificateResponse => ({
      certificatePem: r.certificatePem,
      caCertificatePem: r.caCertificatePem,
    }),
    (x: w.CertificateResponse) =>
      compact({ certificatePem: str(x.certificatePem), caCertificatePem: str(x.caCertificatePem) }),
  ),
  LeaveRequest: codec(
    d.LeaveRequestSchema,
    (r): w.LeaveRequest => ({ ...r }),
    (x: w.LeaveRequest) => compact({ nodeId: str(x.nodeId), force: x.force }),
  ),
  LeaveResponse: empty<w.LeaveResponse>(),
  UnlockResponse: empty<w.UnlockResponse>(),
  // NodeService
  ListNodesRequest: codec(
    d.ListNodesRequestSchema,
    (r): w.ListNodesRequest => ({
      stale: r.stale,
      role: r.role === undefined ? w.NodeRole.NODE_ROLE_UNSPECIFIED : E.NodeRole.toWire(r.role),
    }),
    (x: w.ListNodesRequest) => compact({ stale: x.stale, role: E.NodeRole.fromWire(x.role) }),
  ),
  ListNodesResponse: codec(
    d.ListNodesResponseSchema,
    (r): w.ListNodesResponse => ({ nodes: r.nodes.map(encNode), index: r.index }),
    (x: w.ListNodesResponse) => ({ nodes: x.nodes.map(decNode), index: x.index }),
  ),
  InspectNodeRequest: inspect,
  UpdateNodeRequest: codec(
    d.UpdateNodeRequestSchema,
    (r): w.UpdateNodeRequest => ({
      id: r.id,
      availability: r.availability === undefined
        ? w.NodeAvailability.NODE_AVAILABILITY_UNSPECIFIED
        : E.NodeAvailability.toWire(r.availability),
      role: r.role === undefined ? w.NodeRole.NODE_ROLE_UNSPECIFIED : E.NodeRole.toWire(r.role),
      labelsAdd: { ...r.labelsAdd },
      labelsRemove: [...r.labelsRemove],
    }),
    (x: w.UpdateNodeRequest) =>
      compact({
        id: str(x.id),
        availability: E.NodeAvailability.fromWire(x.availability),
        role: E.NodeRole.fromWire(x.role),
        labelsAdd: { ...x.labelsAdd },
        labelsRemove: [...x.labelsRemove],
      }),
  ),
  RemoveNodeRequest: remove,
  RemoveNodeResponse: empty<w.RemoveNodeResponse>(),
  // ServiceService
  CreateServiceRequest: codec(
    d.CreateServiceRequestSchema,
    (r): w.CreateServiceRequest => ({ spec: encSpec(r.spec) }),
    (x: w.CreateServiceRequest) => compact({ spec: decSpec(x.spec) }),
  ),
  ListServicesRequest: list,
  ListServicesResponse: codec(
    d.ListServicesResponseSchema,
    (r): w.ListServicesResponse => ({ services: r.services.map(encService), index: r.index }),
    (x: w.ListServicesResponse) => ({ services: x.services.map(decService), index: x.index }),
  ),
  InspectServiceRequest: inspect,
  UpdateServiceRequest: codec(
    d.UpdateServiceRequestSchema,
    (r): w.UpdateServiceRequest => ({
      id: r.id,
      spec: encSpec(r.spec),
      expectedSpecVersion: r.expectedSpecVersion,
      expectedRevision: r.expectedRevision,
      force: r.force ?? false,
    }),
    (x: w.UpdateServiceRequest) =>
      compact({
        id: str(x.id),
        spec: decSpec(x.spec),
        expectedSpecVersion: x.expectedSpecVersion,
        expectedRevision: x.expectedRevision,
        force: x.force || undefined,
      }),
  ),
  ScaleServiceRequest: codec(
    d.ScaleServiceRequestSchema,
    (r): w.ScaleServiceRequest => ({ ...r }),
    (x: w.ScaleServiceRequest) => compact({ id: str(x.id), replicas: x.replicas }),
  ),
  DeleteServiceRequest: byId,
  DeleteServiceResponse: empty<w.DeleteServiceResponse>(),
  RollbackServiceRequest: byId,
  // TaskService
  ListTasksRequest: codec(
    d.ListTasksRequestSchema,
    (r): w.ListTasksRequest => ({ ...r }),
    (x: w.ListTasksRequest) =>
      compact({ serviceId: x.serviceId, nodeId: x.nodeId, history: x.history, stale: x.stale }),
  ),
  ListTasksResponse: codec(
    d.ListTasksResponseSchema,
    (r): w.ListTasksResponse => ({ tasks: r.tasks.map(encTask), index: r.index }),
    (x: w.ListTasksResponse) => ({ tasks: x.tasks.map(decTask), index: x.index }),
  ),
  // SecretService
  CreateSecretRequest: codec(
    d.SecretCreateRequestSchema,
    (r): w.CreateSecretRequest => ({
      name: r.name,
      data: d.decodeBase64(r.data),
      labels: { ...r.labels },
    }),
    (x: w.CreateSecretRequest) =>
      compact({ name: str(x.name), data: d.encodeBase64(x.data), labels: { ...x.labels } }),
  ),
  ListSecretsRequest: list,
  ListSecretsResponse: codec(
    d.ListSecretsResponseSchema,
    (r): w.ListSecretsResponse => ({ secrets: r.secrets.map(encSecret), index: r.index }),
    (x: w.ListSecretsResponse) => ({ secrets: x.secrets.map(decSecret), index: x.index }),
  ),
  InspectSecretRequest: inspect,
  UpdateSecretRequest: codec(
    d.SecretUpdateRequestSchema,
    (r): w.UpdateSecretRequest => ({
      id: r.id,
      data: d.decodeBase64(r.data),
      labels: { ...r.labels },
      unlessSame: r.unlessSame,
      dryRun: r.dryRun,
    }),
    (x: w.UpdateSecretRequest) =>
      compact({
        id: str(x.id),
        data: d.encodeBase64(x.data),
        labels: { ...x.labels },
        unlessSame: x.unlessSame,
        dryRun: x.dryRun,
      }),
  ),
  DeleteSecretRequest: byId,
  DeleteSecretResponse: empty<w.DeleteSecretResponse>(),
  // VolumeService
  CreateVolumeRequest: codec(
    d.VolumeCreateRequestSchema,
    (r): w.CreateVolumeRequest => ({
      name: r.name,
      driver: r.driver,
      nodeId: r.nodeId,
      options: { ...r.options },
      labels: { ...r.labels },
    }),
    (x: w.CreateVolumeRequest) =>
      compact({
        name: str(x.name),
        driver: str(x.driver),
        nodeId: x.nodeId,
        options: { ...x.options },
        labels: { ...x.labels },
      }),
  ),
  ListVolumesRequest: list,
  ListVolumesResponse: codec(
    d.ListVolumesResponseSchema,
    (r): w.ListVolumesResponse => ({ volumes: r.volumes.map(encVolume), index: r.index }),
    (x: w.ListVolumesResponse) => ({ volumes: x.volumes.map(decVolume), index: x.index }),
  ),
  InspectVolumeRequest: inspect,
  DeleteVolumeRequest: remove,
  DeleteVolumeResponse: empty<w.DeleteVolumeResponse>(),
  // EventService
  WatchRequest: codec(
    d.WatchRequestSchema,
    (r): w.WatchRequest => ({ fromIndex: r.fromIndex, kinds: r.kinds.map(E.EventKind.toWire) }),
    (x: w.WatchRequest) => ({ fromIndex: x.fromIndex, kinds: x.kinds.map(E.EventKind.fromWire) }),
  ),
  Event: codec(d.EventSchema, encEvent, decEvent),
} as const;

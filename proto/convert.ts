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
import type { z } from "zod";
import * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";
import { enumCodec } from "./_enum_codec.ts";

/** An untyped object on its way into a zod parse. */
type Raw = Record<string, unknown>;

/** Drops keys whose value is undefined, so parsed output has no `key: undefined` entries. */
function compact(obj: Raw): Raw {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** proto3 cannot tell "" from unset: treat "" as unset so defaults and "is required" apply. */
function str(s: string | undefined): string | undefined {
  return s === "" ? undefined : s;
}

/** Enum codecs, one per domain enum; exported for tests and for callers that need one value. */
export const enums = {
  NodeRole: enumCodec<d.NodeRole, w.NodeRole>(w.NodeRole, "NODE_ROLE", d.NodeRoleSchema.options),
  NodeAvailability: enumCodec<d.NodeAvailability, w.NodeAvailability>(
    w.NodeAvailability,
    "NODE_AVAILABILITY",
    d.NodeAvailabilitySchema.options,
  ),
  NodeState: enumCodec<d.NodeState, w.NodeState>(
    w.NodeState,
    "NODE_STATE",
    d.NodeStateSchema.options,
  ),
  Arch: enumCodec<d.Arch, w.Arch>(w.Arch, "ARCH", d.ArchSchema.options),
  ServiceMode: enumCodec<d.ServiceMode, w.ServiceMode>(
    w.ServiceMode,
    "SERVICE_MODE",
    d.ServiceModeSchema.options,
  ),
  PortProtocol: enumCodec<d.PortProtocol, w.PortProtocol>(
    w.PortProtocol,
    "PORT_PROTOCOL",
    d.PortProtocolSchema.options,
  ),
  PublishMode: enumCodec<d.PublishMode, w.PublishMode>(
    w.PublishMode,
    "PUBLISH_MODE",
    d.PublishModeSchema.options,
  ),
  EndpointMode: enumCodec<d.EndpointMode, w.EndpointMode>(
    w.EndpointMode,
    "ENDPOINT_MODE",
    d.EndpointModeSchema.options,
  ),
  MountType: enumCodec<d.MountType, w.MountType>(
    w.MountType,
    "MOUNT_TYPE",
    d.MountTypeSchema.options,
  ),
  HealthCheckType: enumCodec<d.HealthCheckType, w.HealthCheckType>(
    w.HealthCheckType,
    "HEALTH_CHECK_TYPE",
    d.HealthCheckTypeSchema.options,
  ),
  RestartCondition: enumCodec<d.RestartCondition, w.RestartCondition>(
    w.RestartCondition,
    "RESTART_CONDITION",
    d.RestartConditionSchema.options,
  ),
  FailureAction: enumCodec<d.FailureAction, w.FailureAction>(
    w.FailureAction,
    "FAILURE_ACTION",
    d.FailureActionSchema.options,
  ),
  UpdateOrder: enumCodec<d.UpdateOrder, w.UpdateOrder>(
    w.UpdateOrder,
    "UPDATE_ORDER",
    d.UpdateOrderSchema.options,
  ),
  DeploymentStrategy: enumCodec<d.DeploymentStrategy, w.DeploymentStrategy>(
    w.DeploymentStrategy,
    "DEPLOYMENT_STRATEGY",
    d.DeploymentStrategySchema.options,
  ),
  UpdateState: enumCodec<d.UpdateState, w.UpdateState>(
    w.UpdateState,
    "UPDATE_STATE",
    d.UpdateStateSchema.options,
  ),
  TaskState: enumCodec<d.TaskState, w.TaskState>(w.TaskState, "TASK_STATE", d.TASK_STATES),
  TaskHealth: enumCodec<d.TaskHealth, w.TaskHealth>(
    w.TaskHealth,
    "TASK_HEALTH",
    d.TaskHealthSchema.options,
  ),
  EventKind: enumCodec<d.EventKind, w.EventKind>(
    w.EventKind,
    "EVENT_KIND",
    d.EventKindSchema.options,
  ),
  EventAction: enumCodec<d.EventAction, w.EventAction>(
    w.EventAction,
    "EVENT_ACTION",
    d.EventActionSchema.options,
  ),
} as const;
const E = enums;

// ---- shared -----------------------------------------------------------------------------------

const encResources = (r: d.Resources): w.Resources => ({
  nanoCpus: r.nanoCpus,
  memoryBytes: r.memoryBytes,
});
const decResources = (x: w.Resources | undefined): Raw | undefined =>
  x && { nanoCpus: x.nanoCpus, memoryBytes: x.memoryBytes };

const encAmounts = (r: d.ResourceAmounts): w.ResourceAmounts => ({
  nanoCpus: r.nanoCpus,
  memoryBytes: r.memoryBytes,
});
const decAmounts = (x: w.ResourceAmounts | undefined): Raw | undefined =>
  x && compact({ nanoCpus: x.nanoCpus, memoryBytes: x.memoryBytes });

const encPeer = (p: d.ManagerPeer): w.ManagerPeer => ({ ...p });
const decPeer = (x: w.ManagerPeer): Raw =>
  compact({
    nodeId: str(x.nodeId),
    apiAddress: str(x.apiAddress),
    raftAddress: str(x.raftAddress),
  });

// ---- node -------------------------------------------------------------------------------------

const encPlatform = (p: d.Platform): w.Platform => ({ os: p.os, arch: E.Arch.toWire(p.arch) });
const decPlatform = (x: w.Platform | undefined): Raw | undefined =>
  x && compact({ os: str(x.os), arch: E.Arch.fromWire(x.arch) });

const encAddresses = (a: d.NodeAddresses): w.NodeAddresses => ({
  advertise: a.advertise,
  api: a.api,
  raft: a.raft,
});
const decAddresses = (x: w.NodeAddresses | undefined): Raw | undefined =>
  x && compact({ advertise: str(x.advertise), api: x.api, raft: x.raft });

const encNodeStatus = (s: d.NodeStatus): w.NodeStatus => ({
  state: E.NodeState.toWire(s.state),
  message: s.message,
  lastHeartbeatAt: s.lastHeartbeatAt,
});
const decNodeStatus = (x: w.NodeStatus | undefined): Raw | undefined =>
  x && compact({
    state: E.NodeState.fromWire(x.state),
    message: x.message,
    lastHeartbeatAt: x.lastHeartbeatAt,
  });

const encWireGuard = (g: d.NodeWireGuard): w.NodeWireGuard => ({ ...g });
const decWireGuard = (x: w.NodeWireGuard | undefined): Raw | undefined =>
  x && compact({ publicKey: str(x.publicKey), endpoint: str(x.endpoint), subnet: str(x.subnet) });

const encNode = (n: d.Node): w.Node => ({
  id: n.id,
  hostname: n.hostname,
  role: E.NodeRole.toWire(n.role),
  addresses: encAddresses(n.addresses),
  labels: { ...n.labels },
  resources: encResources(n.resources),
  platform: encPlatform(n.platform),
  availability: E.NodeAvailability.toWire(n.availability),
  status: encNodeStatus(n.status),
  wireguard: n.wireguard && encWireGuard(n.wireguard),
  version: n.version,
  createdAt: n.createdAt,
  updatedAt: n.updatedAt,
});
const decNode = (x: w.Node): Raw =>
  compact({
    id: str(x.id),
    hostname: str(x.hostname),
    role: E.NodeRole.fromWire(x.role),
    addresses: decAddresses(x.addresses),
    labels: { ...x.labels },
    resources: decResources(x.resources),
    platform: decPlatform(x.platform),
    availability: E.NodeAvailability.fromWire(x.availability),
    status: decNodeStatus(x.status),
    wireguard: decWireGuard(x.wireguard),
    version: str(x.version),
    createdAt: x.createdAt,
    updatedAt: x.updatedAt,
  });

// ---- service spec -----------------------------------------------------------------------------

const encServiceResources = (r: d.ServiceResources): w.ServiceResources => ({
  limits: encAmounts(r.limits),
  reservations: encAmounts(r.reservations),
});
const decServiceResources = (x: w.ServiceResources | undefined): Raw | undefined =>
  x && compact({ limits: decAmounts(x.limits), reservations: decAmounts(x.reservations) });

const encPreference = (p: d.PlacementPreference): w.PlacementPreference => ({ spread: p.spread });
const decPreference = (x: w.PlacementPreference): Raw => compact({ spread: str(x.spread) });

const encPort = (p: d.Port): w.Port => ({
  name: p.name,
  protocol: E.PortProtocol.toWire(p.protocol),
  target: p.target,
  published: p.published,
  publishMode: E.PublishMode.toWire(p.publishMode),
});
const decPort = (x: w.Port): Raw =>
  compact({
    name: x.name,
    protocol: E.PortProtocol.fromWire(x.protocol),
    target: x.target,
    published: x.published,
    publishMode: E.PublishMode.fromWire(x.publishMode),
  });

const encSecretRef = (r: d.SecretRef): w.SecretRef => ({
  secret: r.secret,
  target: r.target,
  mode: r.mode,
});
const decSecretRef = (x: w.SecretRef): Raw =>
  compact({ secret: str(x.secret), target: str(x.target), mode: x.mode });

const encMount = (m: d.Mount): w.Mount => ({
  type: E.MountType.toWire(m.type),
  source: m.source,
  target: m.target,
  readOnly: m.readOnly,
});
const decMount = (x: w.Mount): Raw =>
  compact({
    type: E.MountType.fromWire(x.type),
    source: x.source,
    target: str(x.target),
    readOnly: x.readOnly,
  });

const encHttp = (h: d.HttpCheck): w.HttpCheck => ({ ...h });
const decHttp = (x: w.HttpCheck | undefined): Raw | undefined =>
  x && compact({ path: x.path, port: x.port, statusMin: x.statusMin, statusMax: x.statusMax });
const encTcp = (t: d.TcpCheck): w.TcpCheck => ({ port: t.port });
const decTcp = (x: w.TcpCheck | undefined): Raw | undefined => x && { port: x.port };
const encExec = (e: d.ExecCheck): w.ExecCheck => ({ command: [...e.command] });
const decExec = (x: w.ExecCheck | undefined): Raw | undefined => x && { command: [...x.command] };

const encHealth = (h: d.HealthCheck): w.HealthCheck => ({
  type: E.HealthCheckType.toWire(h.type),
  http: h.http && encHttp(h.http),
  tcp: h.tcp && encTcp(h.tcp),
  exec: h.exec && encExec(h.exec),
  intervalMs: h.intervalMs,
  timeoutMs: h.timeoutMs,
  retries: h.retries,
  startPeriodMs: h.startPeriodMs,
});
const decHealth = (x: w.HealthCheck | undefined): Raw | undefined =>
  x && compact({
    type: E.HealthCheckType.fromWire(x.type),
    http: decHttp(x.http),
    tcp: decTcp(x.tcp),
    exec: decExec(x.exec),
    intervalMs: x.intervalMs,
    timeoutMs: x.timeoutMs,
    retries: x.retries,
    startPeriodMs: x.startPeriodMs,
  });

const encRestart = (r: d.RestartPolicy): w.RestartPolicy => ({
  condition: E.RestartCondition.toWire(r.condition),
  delayMs: r.delayMs,
  maxAttempts: r.maxAttempts,
  windowMs: r.windowMs,
});
const decRestart = (x: w.RestartPolicy | undefined): Raw | undefined =>
  x && compact({
    condition: E.RestartCondition.fromWire(x.condition),
    delayMs: x.delayMs,
    maxAttempts: x.maxAttempts,
    windowMs: x.windowMs,
  });

const encUpdate = (u: d.UpdateConfig): w.UpdateConfig => ({
  parallelism: u.parallelism,
  delayMs: u.delayMs,
  failureAction: E.FailureAction.toWire(u.failureAction),
  monitorMs: u.monitorMs,
  maxFailureRatio: u.maxFailureRatio,
  order: E.UpdateOrder.toWire(u.order),
});
const decUpdate = (x: w.UpdateConfig | undefined): Raw | undefined =>
  x && compact({
    parallelism: x.parallelism,
    delayMs: x.delayMs,
    failureAction: E.FailureAction.fromWire(x.failureAction),
    monitorMs: x.monitorMs,
    maxFailureRatio: x.maxFailureRatio,
    order: E.UpdateOrder.fromWire(x.order),
  });

const encCanaryStep = (s: d.CanaryStep): w.CanaryStep => ({ ...s });
const decCanaryStep = (x: w.CanaryStep): Raw =>
  compact({ weightPercent: x.weightPercent, pauseMs: x.pauseMs });
const encCanary = (c: d.CanaryConfig): w.CanaryConfig => ({ steps: c.steps.map(encCanaryStep) });
const decCanary = (x: w.CanaryConfig | undefined): Raw | undefined =>
  x && { steps: x.steps.map(decCanaryStep) };
const encBlueGreen = (b: d.BlueGreenConfig): w.BlueGreenConfig => ({ ...b });
const decBlueGreen = (x: w.BlueGreenConfig | undefined): Raw | undefined =>
  x && compact({ autoPromote: x.autoPromote, keepPreviousMs: x.keepPreviousMs });

const encDeployment = (p: d.Deployment): w.Deployment => ({
  strategy: E.DeploymentStrategy.toWire(p.strategy),
  canary: p.canary && encCanary(p.canary),
  blueGreen: p.blueGreen && encBlueGreen(p.blueGreen),
});
const decDeployment = (x: w.Deployment | undefined): Raw | undefined =>
  x && compact({
    strategy: E.DeploymentStrategy.fromWire(x.strategy),
    canary: decCanary(x.canary),
    blueGreen: decBlueGreen(x.blueGreen),
  });

const encSpec = (s: d.ServiceSpec): w.ServiceSpec => ({
  name: s.name,
  image: s.image,
  command: [...s.command],
  args: [...s.args],
  env: [...s.env],
  workdir: s.workdir,
  user: s.user,
  hostname: s.hostname,
  mode: E.ServiceMode.toWire(s.mode),
  replicas: s.replicas,
  resources: encServiceResources(s.resources),
  constraints: [...s.constraints],
  preferences: s.preferences.map(encPreference),
  maxReplicasPerNode: s.maxReplicasPerNode,
  ports: s.ports.map(encPort),
  endpointMode: E.EndpointMode.toWire(s.endpointMode),
  secrets: s.secrets.map(encSecretRef),
  mounts: s.mounts.map(encMount),
  healthCheck: s.healthCheck && encHealth(s.healthCheck),
  restartPolicy: encRestart(s.restartPolicy),
  updateConfig: encUpdate(s.updateConfig),
  rollbackConfig: encUpdate(s.rollbackConfig),
  deployment: encDeployment(s.deployment),
  stopSignal: s.stopSignal,
  stopGracePeriodMs: s.stopGracePeriodMs,
  readOnlyRootfs: s.readOnlyRootfs,
  disconnectGraceMs: s.disconnectGraceMs,
  labels: { ...s.labels },
});
const decSpec = (x: w.ServiceSpec | undefined): Raw | undefined =>
  x && compact({
    name: str(x.name),
    image: str(x.image),
    command: [...x.command],
    args: [...x.args],
    env: [...x.env],
    workdir: x.workdir,
    user: x.user,
    hostname: x.hostname,
    mode: E.ServiceMode.fromWire(x.mode),
    replicas: x.replicas,
    resources: decServiceResources(x.resources),
    constraints: [...x.constraints],
    preferences: x.preferences.map(decPreference),
    maxReplicasPerNode: x.maxReplicasPerNode,
    ports: x.ports.map(decPort),
    endpointMode: E.EndpointMode.fromWire(x.endpointMode),
    secrets: x.secrets.map(decSecretRef),
    mounts: x.mounts.map(decMount),
    healthCheck: decHealth(x.healthCheck),
    restartPolicy: decRestart(x.restartPolicy),
    updateConfig: decUpdate(x.updateConfig),
    rollbackConfig: decUpdate(x.rollbackConfig),
    deployment: decDeployment(x.deployment),
    stopSignal: x.stopSignal,
    stopGracePeriodMs: x.stopGracePeriodMs,
    readOnlyRootfs: x.readOnlyRootfs,
    disconnectGraceMs: x.disconnectGraceMs,
    labels: { ...x.labels },
  });

// ---- service, task ----------------------------------------------------------------------------

const encUpdateStatus = (u: d.UpdateStatus): w.UpdateStatus => ({
  state: E.UpdateState.toWire(u.state),
  message: u.message,
  startedAt: u.startedAt,
  completedAt: u.completedAt,
});
const decUpdateStatus = (x: w.UpdateStatus | undefined): Raw | undefined =>
  x && compact({
    state: E.UpdateState.fromWire(x.state),
    message: x.message,
    startedAt: x.startedAt,
    completedAt: x.completedAt,
  });

const encService = (s: d.Service): w.Service => ({
  id: s.id,
  spec: encSpec(s.spec),
  previousSpec: s.previousSpec && encSpec(s.previousSpec),
  specVersion: s.specVersion,
  vip: s.vip,
  updateStatus: s.updateStatus && encUpdateStatus(s.updateStatus),
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});
const decService = (x: w.Service): Raw =>
  compact({
    id: str(x.id),
    spec: decSpec(x.spec),
    previousSpec: decSpec(x.previousSpec),
    specVersion: x.specVersion,
    vip: x.vip,
    updateStatus: decUpdateStatus(x.updateStatus),
    createdAt: x.createdAt,
    updatedAt: x.updatedAt,
  });

const encTaskStatus = (s: d.TaskStatus): w.TaskStatus => ({
  state: E.TaskState.toWire(s.state),
  message: s.message,
  error: s.error,
  exitCode: s.exitCode,
  containerId: s.containerId,
  ip: s.ip,
  health: E.TaskHealth.toWire(s.health),
  timestamp: s.timestamp,
});
const decTaskStatus = (x: w.TaskStatus | undefined): Raw | undefined =>
  x && compact({
    state: E.TaskState.fromWire(x.state),
    message: x.message,
    error: x.error,
    exitCode: x.exitCode,
    containerId: x.containerId,
    ip: x.ip,
    health: E.TaskHealth.fromWire(x.health),
    timestamp: x.timestamp,
  });

const encTask = (t: d.Task): w.Task => ({
  id: t.id,
  serviceId: t.serviceId,
  slot: t.slot,
  nodeId: t.nodeId,
  specVersion: t.specVersion,
  desiredState: E.TaskState.toWire(t.desiredState),
  status: encTaskStatus(t.status),
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});
const decTask = (x: w.Task | undefined): Raw | undefined =>
  x && compact({
    id: str(x.id),
    serviceId: str(x.serviceId),
    slot: x.slot,
    nodeId: x.nodeId,
    specVersion: x.specVersion,
    desiredState: E.TaskState.fromWire(x.desiredState),
    status: decTaskStatus(x.status),
    createdAt: x.createdAt,
    updatedAt: x.updatedAt,
  });

// ---- secret, volume, cluster ------------------------------------------------------------------

const encSecret = (s: d.Secret): w.Secret => ({
  id: s.id,
  name: s.name,
  version: s.version,
  labels: { ...s.labels },
  createdAt: s.createdAt,
});
const decSecret = (x: w.Secret): Raw =>
  compact({
    id: str(x.id),
    name: str(x.name),
    version: x.version,
    labels: { ...x.labels },
    createdAt: x.createdAt,
  });

const encVolume = (v: d.Volume): w.Volume => ({
  id: v.id,
  name: v.name,
  driver: v.driver,
  nodeId: v.nodeId,
  options: { ...v.options },
  labels: { ...v.labels },
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
});
const decVolume = (x: w.Volume): Raw =>
  compact({
    id: str(x.id),
    name: str(x.name),
    driver: str(x.driver),
    nodeId: x.nodeId,
    options: { ...x.options },
    labels: { ...x.labels },
    createdAt: x.createdAt,
    updatedAt: x.updatedAt,
  });

const encRaft = (r: d.RaftStatus): w.RaftStatus => ({ ...r });
const decRaft = (x: w.RaftStatus | undefined): Raw | undefined =>
  x && compact({ term: x.term, leaderId: x.leaderId, index: x.index });
const encCidrs = (c: d.ClusterCidrs): w.ClusterCidrs => ({ ...c });
const decCidrs = (x: w.ClusterCidrs | undefined): Raw | undefined =>
  x && compact({
    clusterCidr: str(x.clusterCidr),
    serviceCidr: str(x.serviceCidr),
    nodeSubnetBits: x.nodeSubnetBits === 0 ? undefined : x.nodeSubnetBits,
  });

const encCluster = (c: d.ClusterInfo): w.ClusterInfo => ({
  id: c.id,
  name: c.name,
  createdAt: c.createdAt,
  raft: encRaft(c.raft),
  managers: c.managers,
  workers: c.workers,
  version: c.version,
  cidrs: encCidrs(c.cidrs),
});
const decCluster = (x: w.ClusterInfo | undefined): Raw | undefined =>
  x && compact({
    id: str(x.id),
    name: str(x.name),
    createdAt: x.createdAt,
    raft: decRaft(x.raft),
    managers: x.managers,
    workers: x.workers,
    version: str(x.version),
    cidrs: decCidrs(x.cidrs),
  });

// ---- the codec table --------------------------------------------------------------------------

/** Converts one wire message type to and from its domain type. */
export interface Codec<D, W> {
  /** Domain → wire. The domain value is trusted (it was parsed already). */
  toWire(value: D): W;
  /**
   * Wire → domain, validated; throws ValidationError whose field is the dotted path of the
   * first problem, prefixed with `field` (e.g. `spec` → `spec.ports[0].target`).
   */
  fromWire(message: W, field?: string): D;
}

function codec<S extends z.ZodType, W>(
  schema: S,
  encode: (value: z.output<S>) => W,
  decode: (message: W) => unknown,
): Codec<z.output<S>, W> {
  return {
    toWire: encode,
    fromWire: (message, field) => d.parseOrThrow(schema, decode(message), field),
  };
}

/** Codec of a message with no fields. */
function empty<W extends object>(): Codec<d.EmptyResponse, W> {
  return codec(d.EmptyResponseSchema, () => ({}) as W, () => ({}));
}

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
const session = codec(
  d.HeartbeatRequestSchema,
  (r): w.HeartbeatRequest => ({ ...r }),
  (x: w.HeartbeatRequest) => compact({ nodeId: str(x.nodeId), sessionId: str(x.sessionId) }),
);

const encAssignment = (a: d.Assignment): w.Assignment => ({
  task: encTask(a.task),
  serviceName: a.serviceName,
  spec: encSpec(a.spec),
});
const decAssignment = (x: w.Assignment): Raw =>
  compact({ task: decTask(x.task), serviceName: str(x.serviceName), spec: decSpec(x.spec) });
const encSecretData = (s: d.SecretData): w.SecretData => ({
  id: s.id,
  name: s.name,
  data: d.decodeBase64(s.data),
});
const decSecretData = (x: w.SecretData): Raw =>
  compact({ id: str(x.id), name: str(x.name), data: d.encodeBase64(x.data) });
const encOverlayPeer = (p: d.OverlayPeer): w.OverlayPeer => ({
  nodeId: p.nodeId,
  wireguard: encWireGuard(p.wireguard),
});
const decOverlayPeer = (x: w.OverlayPeer): Raw =>
  compact({ nodeId: str(x.nodeId), wireguard: decWireGuard(x.wireguard) });
const encEndpoint = (e: d.ServiceEndpoint): w.ServiceEndpoint => ({
  serviceId: e.serviceId,
  name: e.name,
  vip: e.vip,
  endpointMode: E.EndpointMode.toWire(e.endpointMode),
  ports: e.ports.map(encPort),
  taskIps: [...e.taskIps],
});
const decEndpoint = (x: w.ServiceEndpoint): Raw =>
  compact({
    serviceId: str(x.serviceId),
    name: str(x.name),
    vip: x.vip,
    endpointMode: E.EndpointMode.fromWire(x.endpointMode),
    ports: x.ports.map(decPort),
    taskIps: [...x.taskIps],
  });
const encStatusUpdate = (u: d.TaskStatusUpdate): w.TaskStatusUpdate => ({
  taskId: u.taskId,
  status: encTaskStatus(u.status),
});
const decStatusUpdate = (x: w.TaskStatusUpdate): Raw =>
  compact({ taskId: str(x.taskId), status: decTaskStatus(x.status) });

const encEvent = (e: d.Event): w.Event => {
  const out: w.Event = {
    index: e.index,
    kind: E.EventKind.toWire(e.kind),
    action: E.EventAction.toWire(e.action),
    timestamp: e.timestamp,
  };
  switch (e.kind) {
    case "node":
      return { ...out, node: encNode(e.node) };
    case "service":
      return { ...out, service: encService(e.service) };
    case "task":
      return { ...out, task: encTask(e.task) };
    case "secret":
      return { ...out, secret: encSecret(e.secret) };
    case "volume":
      return { ...out, volume: encVolume(e.volume) };
  }
};
const decEvent = (x: w.Event): Raw =>
  compact({
    index: x.index,
    kind: E.EventKind.fromWire(x.kind),
    action: E.EventAction.fromWire(x.action),
    timestamp: x.timestamp,
    node: x.node && decNode(x.node),
    service: x.service && decService(x.service),
    task: decTask(x.task),
    secret: x.secret && decSecret(x.secret),
    volume: x.volume && decVolume(x.volume),
  });

/**
 * One codec per wire message, keyed by the message name in warren.proto. Request messages that
 * share a shape share a domain type (e.g. every Inspect*Request is an {@link d.InspectRequest}).
 */
export const codecs = {
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
  Secret: codec(d.SecretSchema, encSecret, decSecret),
  Volume: codec(d.VolumeSchema, encVolume, decVolume),
  RaftStatus: codec(d.RaftStatusSchema, encRaft, decRaft),
  ClusterCidrs: codec(d.ClusterCidrsSchema, encCidrs, decCidrs),
  ClusterInfo: codec(d.ClusterInfoSchema, encCluster, decCluster),
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
      }),
  ),
  LeaveRequest: codec(
    d.LeaveRequestSchema,
    (r): w.LeaveRequest => ({ ...r }),
    (x: w.LeaveRequest) => compact({ nodeId: str(x.nodeId), force: x.force }),
  ),
  LeaveResponse: empty<w.LeaveResponse>(),
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
    }),
    (x: w.UpdateServiceRequest) =>
      compact({
        id: str(x.id),
        spec: decSpec(x.spec),
        expectedSpecVersion: x.expectedSpecVersion,
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

/**
 * Wire ↔ domain mapping of services, tasks, events and worker assignments (private to
 * proto/convert.ts).
 */
import type * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";
import { compact, E, type Raw, str } from "./_convert_base.ts";
import {
  decNode,
  decSecret,
  decVolume,
  decWireGuard,
  encNode,
  encSecret,
  encVolume,
  encWireGuard,
} from "./_convert_node.ts";
import { decPort, decSpec, encPort, encSpec } from "./_convert_spec.ts";

// ---- service, task ----------------------------------------------------------------------------

export const encUpdateStatus = (u: d.UpdateStatus): w.UpdateStatus => ({
  state: E.UpdateState.toWire(u.state),
  message: u.message,
  startedAt: u.startedAt,
  completedAt: u.completedAt,
});
export const decUpdateStatus = (x: w.UpdateStatus | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if ((v = E.UpdateState.fromWire(x.state)) !== undefined) o.state = v;
  if (x.message !== undefined) o.message = x.message;
  if (x.startedAt !== undefined) o.startedAt = x.startedAt;
  if (x.completedAt !== undefined) o.completedAt = x.completedAt;
  return o;
};

export const encService = (s: d.Service): w.Service => ({
  id: s.id,
  spec: encSpec(s.spec),
  previousSpec: s.previousSpec && encSpec(s.previousSpec),
  specVersion: s.specVersion,
  sameSpecVersion: s.sameSpecVersion,
  olderSameSpecVersions: s.olderSameSpecVersions ?? [],
  previousSpecVersions: s.previousSpecVersions ?? [],
  revision: s.revision,
  vip: s.vip,
  updateStatus: s.updateStatus && encUpdateStatus(s.updateStatus),
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});
/** Written out like decSpec (see there): no compact() on the path of service lists. */
export const decService = (x: w.Service): Raw => {
  const o: Raw = {};
  let v: unknown;
  if ((v = str(x.id)) !== undefined) o.id = v;
  if ((v = decSpec(x.spec)) !== undefined) o.spec = v;
  if ((v = decSpec(x.previousSpec)) !== undefined) o.previousSpec = v;
  if (x.specVersion !== undefined) o.specVersion = x.specVersion;
  if (x.sameSpecVersion !== undefined) o.sameSpecVersion = x.sameSpecVersion;
  if (x.olderSameSpecVersions?.length) o.olderSameSpecVersions = x.olderSameSpecVersions;
  if (x.previousSpecVersions?.length) o.previousSpecVersions = x.previousSpecVersions;
  if (x.revision !== undefined) o.revision = x.revision;
  if (x.vip !== undefined) o.vip = x.vip;
  if ((v = decUpdateStatus(x.updateStatus)) !== undefined) o.updateStatus = v;
  if (x.createdAt !== undefined) o.createdAt = x.createdAt;
  if (x.updatedAt !== undefined) o.updatedAt = x.updatedAt;
  return o;
};

export const encTaskStatus = (s: d.TaskStatus): w.TaskStatus => ({
  state: E.TaskState.toWire(s.state),
  message: s.message,
  error: s.error,
  exitCode: s.exitCode,
  containerId: s.containerId,
  ip: s.ip,
  health: E.TaskHealth.toWire(s.health),
  timestamp: s.timestamp,
  localRestarts: s.localRestarts,
});
export const decTaskStatus = (x: w.TaskStatus | undefined): Raw | undefined =>
  x && compact({
    state: E.TaskState.fromWire(x.state),
    message: x.message,
    error: x.error,
    exitCode: x.exitCode,
    containerId: x.containerId,
    ip: x.ip,
    health: E.TaskHealth.fromWire(x.health),
    timestamp: x.timestamp,
    localRestarts: x.localRestarts,
  });

export const encTask = (t: d.Task): w.Task => ({
  id: t.id,
  serviceId: t.serviceId,
  slot: t.slot,
  nodeId: t.nodeId,
  specVersion: t.specVersion,
  desiredState: E.TaskState.toWire(t.desiredState),
  status: encTaskStatus(t.status),
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  reserves: t.reserves && encTaskReserves(t.reserves),
});
export const decTask = (x: w.Task | undefined): Raw | undefined =>
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
    reserves: decTaskReserves(x.reserves),
  });

export const encTaskHostPort = (p: d.TaskHostPort): w.TaskHostPort => ({
  published: p.published,
  protocol: E.PortProtocol.toWire(p.protocol),
});
export const decTaskHostPort = (x: w.TaskHostPort): Raw =>
  compact({ published: x.published, protocol: E.PortProtocol.fromWire(x.protocol) });
export const encTaskReserves = (r: d.TaskReserves): w.TaskReserves => ({
  nanoCpus: r.nanoCpus,
  memoryBytes: r.memoryBytes,
  hostPorts: r.hostPorts.map(encTaskHostPort),
  volumes: [...r.volumes],
});
/** The record itself is kept even when empty: its presence is what the scheduler reads. */
export const decTaskReserves = (x: w.TaskReserves | undefined): Raw | undefined =>
  x && {
    nanoCpus: x.nanoCpus,
    memoryBytes: x.memoryBytes,
    hostPorts: x.hostPorts.map(decTaskHostPort),
    volumes: [...x.volumes],
  };

export const encAssignment = (a: d.Assignment): w.Assignment => ({
  task: encTask(a.task),
  serviceName: a.serviceName,
  spec: encSpec(a.spec),
});
export const decAssignment = (x: w.Assignment): Raw =>
  compact({ task: decTask(x.task), serviceName: str(x.serviceName), spec: decSpec(x.spec) });
export const encSecretData = (s: d.SecretData): w.SecretData => ({
  id: s.id,
  name: s.name,
  data: d.decodeBase64(s.data),
});
export const decSecretData = (x: w.SecretData): Raw =>
  compact({ id: str(x.id), name: str(x.name), data: d.encodeBase64(x.data) });
export const encOverlayPeer = (p: d.OverlayPeer): w.OverlayPeer => ({
  nodeId: p.nodeId,
  wireguard: encWireGuard(p.wireguard),
});
export const decOverlayPeer = (x: w.OverlayPeer): Raw =>
  compact({ nodeId: str(x.nodeId), wireguard: decWireGuard(x.wireguard) });
export const encEndpoint = (e: d.ServiceEndpoint): w.ServiceEndpoint => ({
  serviceId: e.serviceId,
  name: e.name,
  vip: e.vip,
  endpointMode: E.EndpointMode.toWire(e.endpointMode),
  ports: e.ports.map(encPort),
  taskIps: [...e.taskIps],
});
export const decEndpoint = (x: w.ServiceEndpoint): Raw =>
  compact({
    serviceId: str(x.serviceId),
    name: str(x.name),
    vip: x.vip,
    endpointMode: E.EndpointMode.fromWire(x.endpointMode),
    ports: x.ports.map(decPort),
    taskIps: [...x.taskIps],
  });
export const encStatusUpdate = (u: d.TaskStatusUpdate): w.TaskStatusUpdate => ({
  taskId: u.taskId,
  status: encTaskStatus(u.status),
});
export const decStatusUpdate = (x: w.TaskStatusUpdate): Raw =>
  compact({ taskId: str(x.taskId), status: decTaskStatus(x.status) });

export const encEvent = (e: d.Event): w.Event => {
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
export const decEvent = (x: w.Event): Raw =>
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

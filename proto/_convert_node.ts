/**
 * Wire ↔ domain mapping of shared messages, nodes, secrets, volumes and cluster info (private to
 * proto/convert.ts).
 */
import type * as w from "./gen/warren.ts";
import type * as d from "./schema/mod.ts";
import { compact, E, level, type Raw, str } from "./_convert_base.ts";

// ---- shared -----------------------------------------------------------------------------------

export const encResources = (r: d.Resources): w.Resources => ({
  nanoCpus: r.nanoCpus,
  memoryBytes: r.memoryBytes,
});
export const decResources = (x: w.Resources | undefined): Raw | undefined =>
  x && { nanoCpus: x.nanoCpus, memoryBytes: x.memoryBytes };

export const encAmounts = (r: d.ResourceAmounts): w.ResourceAmounts => ({
  nanoCpus: r.nanoCpus,
  memoryBytes: r.memoryBytes,
});
export const decAmounts = (x: w.ResourceAmounts | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  if (x.nanoCpus !== undefined) o.nanoCpus = x.nanoCpus;
  if (x.memoryBytes !== undefined) o.memoryBytes = x.memoryBytes;
  return o;
};

export const encPeer = (p: d.ManagerPeer): w.ManagerPeer => ({ ...p });
export const decPeer = (x: w.ManagerPeer): Raw =>
  compact({
    nodeId: str(x.nodeId),
    apiAddress: str(x.apiAddress),
    raftAddress: str(x.raftAddress),
  });

// ---- node -------------------------------------------------------------------------------------

export const encPlatform = (p: d.Platform): w.Platform => ({
  os: p.os,
  arch: E.Arch.toWire(p.arch),
});
export const decPlatform = (x: w.Platform | undefined): Raw | undefined =>
  x && compact({ os: str(x.os), arch: E.Arch.fromWire(x.arch) });

export const encAddresses = (a: d.NodeAddresses): w.NodeAddresses => ({
  advertise: a.advertise,
  api: a.api,
  raft: a.raft,
});
export const decAddresses = (x: w.NodeAddresses | undefined): Raw | undefined =>
  x && compact({ advertise: str(x.advertise), api: x.api, raft: x.raft });

export const encNodeStatus = (s: d.NodeStatus): w.NodeStatus => ({
  state: E.NodeState.toWire(s.state),
  message: s.message,
  lastHeartbeatAt: s.lastHeartbeatAt,
});
export const decNodeStatus = (x: w.NodeStatus | undefined): Raw | undefined =>
  x && compact({
    state: E.NodeState.fromWire(x.state),
    message: x.message,
    lastHeartbeatAt: x.lastHeartbeatAt,
  });

export const encWireGuard = (g: d.NodeWireGuard): w.NodeWireGuard => ({ ...g });
export const decWireGuard = (x: w.NodeWireGuard | undefined): Raw | undefined =>
  x && compact({ publicKey: str(x.publicKey), endpoint: str(x.endpoint), subnet: str(x.subnet) });

export const encNode = (n: d.Node): w.Node => ({
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
  featureLevel: n.featureLevel ?? 0,
});
export const decNode = (x: w.Node): Raw =>
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
    featureLevel: level(x.featureLevel),
  });

// ---- secret, volume, cluster ------------------------------------------------------------------

export const encSecret = (s: d.Secret): w.Secret => ({
  id: s.id,
  name: s.name,
  version: s.version,
  labels: { ...s.labels },
  createdAt: s.createdAt,
});
export const decSecret = (x: w.Secret): Raw =>
  compact({
    id: str(x.id),
    name: str(x.name),
    version: x.version,
    labels: { ...x.labels },
    createdAt: x.createdAt,
  });

export const encVolume = (v: d.Volume): w.Volume => ({
  id: v.id,
  name: v.name,
  driver: v.driver,
  nodeId: v.nodeId,
  options: { ...v.options },
  labels: { ...v.labels },
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
});
export const decVolume = (x: w.Volume): Raw =>
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

export const encRaft = (r: d.RaftStatus): w.RaftStatus => ({ ...r });
export const decRaft = (x: w.RaftStatus | undefined): Raw | undefined =>
  x && compact({ term: x.term, leaderId: x.leaderId, index: x.index });
export const encCidrs = (c: d.ClusterCidrs): w.ClusterCidrs => ({ ...c });
export const decCidrs = (x: w.ClusterCidrs | undefined): Raw | undefined =>
  x && compact({
    clusterCidr: str(x.clusterCidr),
    serviceCidr: str(x.serviceCidr),
    nodeSubnetBits: x.nodeSubnetBits === 0 ? undefined : x.nodeSubnetBits,
  });

export const encManagerLevel = (m: d.ManagerFeatureLevel): w.ManagerFeatureLevel => ({
  nodeId: m.nodeId,
  hostname: m.hostname ?? "",
  featureLevel: m.featureLevel ?? 0,
});
export const decManagerLevel = (x: w.ManagerFeatureLevel): Raw =>
  compact({
    nodeId: str(x.nodeId),
    hostname: str(x.hostname),
    featureLevel: level(x.featureLevel),
  });

export const encCluster = (c: d.ClusterInfo): w.ClusterInfo => ({
  id: c.id,
  name: c.name,
  createdAt: c.createdAt,
  raft: encRaft(c.raft),
  managers: c.managers,
  workers: c.workers,
  version: c.version,
  cidrs: encCidrs(c.cidrs),
  autolock: c.autolock,
  locked: c.locked,
  featureLevel: c.featureLevel,
  managerFeatureLevels: c.managerFeatureLevels.map(encManagerLevel),
});
export const decCluster = (x: w.ClusterInfo | undefined): Raw | undefined =>
  x && compact({
    id: str(x.id),
    name: str(x.name),
    createdAt: x.createdAt,
    raft: decRaft(x.raft),
    managers: x.managers,
    workers: x.workers,
    version: str(x.version),
    cidrs: decCidrs(x.cidrs),
    autolock: x.autolock,
    locked: x.locked,
    featureLevel: level(x.featureLevel),
    managerFeatureLevels: x.managerFeatureLevels.map(decManagerLevel),
  });

/**
 * The cluster state tables the FSM applies commands to: objects by ID plus the secondary
 * indexes the API and orchestrators read (names, tasks by service and by node). Pure data.
 * @module
 */
import type { Node, Service, StoredSecret, Task, Volume } from "../../proto/schema/mod.ts";
import type { ClusterRecord, StoredToken } from "./commands.ts";
import { cidrBase, ipv4Number } from "./fsm_ipam.ts";
import { publishedPortKeys } from "../../proto/service_rules.ts";
import type { RequestOutcome } from "./fsm_requests.ts";

/** Everything Raft replicates, held in memory (restored from snapshots + log replay). */
export interface ClusterState {
  cluster: ClusterRecord | undefined;
  tokens: { manager?: StoredToken; worker?: StoredToken };
  nodes: Map<string, Node>;
  services: Map<string, Service>;
  serviceIdByName: Map<string, string>;
  /** Which service holds each virtual IP (kept by {@link putServiceIndexed}). */
  serviceIdByVip: Map<string, string>;
  /**
   * A hint, not state: no VIP of the service CIDR below this host offset is free. Allocation
   * scans from here, so a create costs O(1) amortized instead of a scan of every service;
   * the lowest free address is the same with or without it (restored snapshots start at 0).
   */
  vipScanFrom: number;
  /** Which services publish each port/protocol (`8080/tcp`), kept by {@link putServiceIndexed}. */
  serviceIdsByPublishedPort: Map<string, Set<string>>;
  tasks: Map<string, Task>;
  taskIdsByService: Map<string, Set<string>>;
  taskIdsByNode: Map<string, Set<string>>;
  secrets: Map<string, StoredSecret>;
  secretIdByName: Map<string, string>;
  volumes: Map<string, Volume>;
  volumeIdByName: Map<string, string>;
  /** Task subnet of each node (allocated at registration, freed at removal). */
  nodeSubnets: Map<string, string>;
  /**
   * IDs of the nodes removed from the cluster (IDs are never reused): their certificates stay
   * valid until they expire, so the API refuses them by this list (Swarm's removed nodes).
   */
  removedNodeIds: Set<string>;
  /**
   * What the last client request IDs came to, oldest first (fsm_requests.ts): a client's retry
   * of a write that applied already gets the first outcome instead of applying it again.
   */
  requests: Map<string, RequestOutcome>;
}

/** An empty cluster. */
export function emptyState(): ClusterState {
  return {
    cluster: undefined,
    tokens: {},
    nodes: new Map(),
    services: new Map(),
    serviceIdByName: new Map(),
    serviceIdByVip: new Map(),
    vipScanFrom: 0,
    serviceIdsByPublishedPort: new Map(),
    tasks: new Map(),
    taskIdsByService: new Map(),
    taskIdsByNode: new Map(),
    secrets: new Map(),
    secretIdByName: new Map(),
    volumes: new Map(),
    volumeIdByName: new Map(),
    nodeSubnets: new Map(),
    removedNodeIds: new Set(),
    requests: new Map(),
  };
}

/** The serializable form of the state (indexes are rebuilt on restore). */
export interface StateSnapshot {
  v: 1;
  cluster: ClusterRecord | undefined;
  tokens: ClusterState["tokens"];
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  secrets: StoredSecret[];
  volumes: Volume[];
  nodeSubnets: [string, string][];
  /** Absent in snapshots taken before it was kept. */
  removedNodeIds?: string[];
  /** Request IDs and their outcomes, oldest first. Absent in snapshots taken before them. */
  requests?: [string, RequestOutcome][];
  /**
   * The store's, not the state's: the index of the latest command that made change events, so
   * a restored store knows which events are gone (manager/state/store.ts). Absent in snapshots
   * taken before it was kept.
   */
  lastEventIndex?: number;
}

/** Captures the state as plain data. */
export function toSnapshot(s: ClusterState): StateSnapshot {
  return {
    v: 1,
    cluster: s.cluster,
    tokens: s.tokens,
    nodes: [...s.nodes.values()],
    services: [...s.services.values()],
    tasks: [...s.tasks.values()],
    secrets: [...s.secrets.values()],
    volumes: [...s.volumes.values()],
    nodeSubnets: [...s.nodeSubnets],
    removedNodeIds: [...s.removedNodeIds],
    requests: [...s.requests],
  };
}

/** Rebuilds the state, with its indexes, from a snapshot. */
export function fromSnapshot(snap: StateSnapshot): ClusterState {
  const s = emptyState();
  s.cluster = snap.cluster;
  s.tokens = snap.tokens;
  for (const n of snap.nodes) s.nodes.set(n.id, n);
  for (const sv of snap.services) putServiceIndexed(s, sv, undefined);
  for (const t of snap.tasks) indexTask(s, t);
  for (const x of snap.secrets) {
    s.secrets.set(x.id, x);
    s.secretIdByName.set(x.name, x.id);
  }
  for (const [id, cidr] of snap.nodeSubnets ?? []) s.nodeSubnets.set(id, cidr);
  for (const id of snap.removedNodeIds ?? []) s.removedNodeIds.add(id);
  for (const [id, outcome] of snap.requests ?? []) s.requests.set(id, outcome);
  for (const v of snap.volumes) {
    s.volumes.set(v.id, v);
    s.volumeIdByName.set(v.name, v.id);
  }
  return s;
}

/**
 * Stores a service (replacing `prev`, the stored version of it, if any) and keeps the name,
 * VIP and published port indexes right.
 */
export function putServiceIndexed(s: ClusterState, sv: Service, prev: Service | undefined): void {
  if (prev) {
    if (prev.spec.name !== sv.spec.name) s.serviceIdByName.delete(prev.spec.name);
    if (prev.vip !== sv.vip) freeVip(s, prev);
    if (prev.spec.ports !== sv.spec.ports) unindexPorts(s, prev);
  }
  s.services.set(sv.id, sv);
  s.serviceIdByName.set(sv.spec.name, sv.id);
  if (sv.vip !== undefined) s.serviceIdByVip.set(sv.vip, sv.id);
  for (const key of publishedPortKeys(sv.spec)) addTo(s.serviceIdsByPublishedPort, key, sv.id);
}

/** The services publishing any of `keys` (`8080/tcp`), by the published port index. */
export function servicesPublishing(s: ClusterState, keys: readonly string[]): Service[] {
  const ids = new Set(keys.flatMap((k) => [...(s.serviceIdsByPublishedPort.get(k) ?? [])]));
  return [...ids].map((id) => s.services.get(id)!);
}

/** Removes a service and its index entries; its VIP becomes free for later services. */
export function deleteServiceIndexed(s: ClusterState, sv: Service): void {
  s.services.delete(sv.id);
  s.serviceIdByName.delete(sv.spec.name);
  freeVip(s, sv);
  unindexPorts(s, sv);
}

function unindexPorts(s: ClusterState, sv: Service): void {
  for (const key of publishedPortKeys(sv.spec)) removeFrom(s.serviceIdsByPublishedPort, key, sv.id);
}

function freeVip(s: ClusterState, sv: Service): void {
  if (sv.vip === undefined || s.serviceIdByVip.get(sv.vip) !== sv.id) return;
  s.serviceIdByVip.delete(sv.vip);
  // Freed below the hint: the next allocation must look from there again.
  const at = ipv4Number(sv.vip) - (s.cluster ? cidrBase(s.cluster.cidrs.serviceCidr) : 0);
  s.vipScanFrom = Number.isFinite(at) ? Math.max(0, Math.min(s.vipScanFrom, at)) : 0;
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  set.add(id);
}

function removeFrom(map: Map<string, Set<string>>, key: string | undefined, id: string): void {
  if (key === undefined) return;
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}

/** Stores a task and keeps the by-service and by-node indexes right. */
export function indexTask(s: ClusterState, t: Task): void {
  const prev = s.tasks.get(t.id);
  if (prev && prev.nodeId !== t.nodeId) removeFrom(s.taskIdsByNode, prev.nodeId, t.id);
  s.tasks.set(t.id, t);
  addTo(s.taskIdsByService, t.serviceId, t.id);
  if (t.nodeId !== undefined) addTo(s.taskIdsByNode, t.nodeId, t.id);
}

/** Removes a task and its index entries. */
export function unindexTask(s: ClusterState, id: string): Task | undefined {
  const t = s.tasks.get(id);
  if (!t) return undefined;
  s.tasks.delete(id);
  removeFrom(s.taskIdsByService, t.serviceId, id);
  removeFrom(s.taskIdsByNode, t.nodeId, id);
  return t;
}

/** Tasks of a service (any state). */
export function tasksOfService(s: ClusterState, serviceId: string): Task[] {
  return [...(s.taskIdsByService.get(serviceId) ?? [])].map((id) => s.tasks.get(id)!);
}

/** Tasks on a node (any state). */
export function tasksOnNode(s: ClusterState, nodeId: string): Task[] {
  return [...(s.taskIdsByNode.get(nodeId) ?? [])].map((id) => s.tasks.get(id)!);
}

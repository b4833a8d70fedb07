/**
 * What a node should be doing, computed from the replicated state (pure): its tasks with their
 * service specs, the volumes and secret names they need, the overlay peers and the service
 * endpoints. The dispatcher diffs successive views into delta messages.
 * @module
 */
import {
  type Assignment,
  isTerminal,
  type OverlayPeer,
  type ServiceEndpoint,
  specOfVersion,
  taskStateOrder,
  type Volume,
} from "../../proto/schema/mod.ts";
import { type ClusterState, tasksOnNode } from "../state/fsm_state.ts";

/** A node's desired work, keyed by ID, each with a signature that changes when it does. */
export interface NodeView {
  assignments: Map<string, { value: Assignment; sig: string }>;
  /** Names of secrets the node's tasks reference. */
  secretNames: Set<string>;
  /**
   * Every volume whose data may be on the node: those bound to it, those not bound yet, and those
   * its tasks mount. A volume leaves the view only when deleted (a binding never moves), which
   * is what lets the worker delete the directory of one that left (`volumesAuthoritative`).
   */
  volumes: Map<string, { value: Volume; sig: string }>;
}

const ASSIGNED = taskStateOrder("assigned");

/** The tasks, volumes and secrets of `nodeId`. */
export function nodeView(s: ClusterState, nodeId: string): NodeView {
  const view: NodeView = { assignments: new Map(), secretNames: new Set(), volumes: new Map() };
  for (const t of tasksOnNode(s, nodeId)) {
    if (taskStateOrder(t.status.state) < ASSIGNED) continue;
    // Done on both sides: nothing left for the worker (it removes the container).
    if (isTerminal(t.desiredState) && isTerminal(t.status.state)) continue;
    const sv = s.services.get(t.serviceId);
    if (!sv) continue;
    // The spec of the task's own version: during a rolling update the service's spec is the new
    // one, but an old task (re-adopted after a worker restart, restarted locally while cut off)
    // must keep running what it was made from, with the secrets and volumes that one names.
    const spec = specOfVersion(sv, t.specVersion);
    view.assignments.set(t.id, {
      value: { task: t, serviceName: sv.spec.name, spec },
      // What the worker acts on: the desired state and the task's spec version (a task never
      // changes spec: a new spec makes new tasks). Not the observed status: the worker reported
      // it itself, and echoing every report back as an upsert (with the full spec) multiplied
      // the stream's traffic by the number of status steps. Nor the service's updatedAt: a
      // scale or a rolling update's progress then resent every task of the service, so scaling
      // up one at a time made the worker decode and validate O(n²) assignments.
      sig: `${t.desiredState}/${t.specVersion}`,
    });
    for (const ref of spec.secrets) view.secretNames.add(ref.secret);
    if (spec.registryAuthSecret) view.secretNames.add(spec.registryAuthSecret);
    for (const m of spec.mounts) {
      if (m.type !== "volume" || !m.source) continue;
      const volId = s.volumeIdByName.get(m.source);
      const vol = volId === undefined ? undefined : s.volumes.get(volId);
      if (vol) view.volumes.set(vol.id, { value: vol, sig: String(vol.updatedAt) });
    }
  }
  for (const vol of s.volumes.values()) {
    if (vol.nodeId === undefined || vol.nodeId === nodeId) {
      view.volumes.set(vol.id, { value: vol, sig: String(vol.updatedAt) });
    }
  }
  return view;
}

/** Every node's overlay peer entry (nodes that have WireGuard configured). */
export function overlayPeers(s: ClusterState): Map<string, { value: OverlayPeer; sig: string }> {
  const out = new Map<string, { value: OverlayPeer; sig: string }>();
  for (const n of s.nodes.values()) {
    if (!n.wireguard) continue;
    const w = n.wireguard;
    out.set(n.id, {
      value: { nodeId: n.id, wireguard: w },
      sig: `${w.publicKey}/${w.endpoint}/${w.subnet}`,
    });
  }
  return out;
}

/**
 * Every service's endpoint: VIP, ports and the IPs of its running tasks. A task with a health
 * check counts once it is healthy (as in Swarm, where such a task joins the load balancer only
 * then): a new task of a start-first update that never passes its check gets no connections
 * while the old task still serves them, nor does one that failed its check and is stopping.
 */
export function serviceEndpoints(
  s: ClusterState,
): Map<string, { value: ServiceEndpoint; sig: string }> {
  const ips = new Map<string, string[]>();
  for (const t of s.tasks.values()) {
    if (t.status.state !== "running" || !t.status.ip || t.desiredState !== "running") continue;
    if (t.status.health === "starting" || t.status.health === "unhealthy") continue;
    const list = ips.get(t.serviceId);
    if (list) list.push(t.status.ip);
    else ips.set(t.serviceId, [t.status.ip]);
  }
  const out = new Map<string, { value: ServiceEndpoint; sig: string }>();
  for (const sv of s.services.values()) {
    const taskIps = (ips.get(sv.id) ?? []).sort();
    const value: ServiceEndpoint = {
      serviceId: sv.id,
      name: sv.spec.name,
      ...(sv.vip ? { vip: sv.vip } : {}),
      endpointMode: sv.spec.endpointMode,
      ports: sv.spec.ports,
      taskIps,
    };
    out.set(sv.id, { value, sig: `${sv.updatedAt}/${taskIps.join(",")}` });
  }
  return out;
}

/**
 * Upserts and removals between two keyed views; `skip` (e.g. the node's own peer entry) is
 * treated as absent from `next`, so one `next` can be shared by every node's diff.
 */
export function diffKeyed<T>(
  prev: Map<string, { sig: string }>,
  next: Map<string, { value: T; sig: string }>,
  skip?: string,
): { upserts: T[]; removed: string[] } {
  const upserts: T[] = [];
  const removed: string[] = [];
  for (const [id, n] of next) {
    if (id !== skip && prev.get(id)?.sig !== n.sig) upserts.push(n.value);
  }
  for (const id of prev.keys()) if (id === skip || !next.has(id)) removed.push(id);
  return { upserts, removed };
}

/**
 * The bridge between the worker and Warren's node data plane (net/node): implements the
 * worker's {@link NetworkHooks} with per-task CNI networks, and feeds every assignments message's
 * endpoints to the service VIPs, ingress ports and DNS.
 *
 * Wiring (the daemon):
 * ```ts
 * const net = await createNetworkHooks({ nodeId, subnet, clusterCidr, dataDir });
 * const worker = await Worker.open({ ..., network: net });
 * const stop = net.follow(worker);          // worker.onAssignments → net.apply
 * // at shutdown: stop(); await worker.stop(); await net.close();
 * // `warren cluster leave` / node cleanup: await cleanupNodeNetworking({ nodeId, dataDir });
 * ```
 *
 * Containers must see `resolvConfPath` (from {@link WarrenNetworkHooks.attach}) read-only at
 * /etc/resolv.conf, so that service names resolve through the node's resolver.
 * @module
 */
import type { Assignment, AssignmentsMessage } from "../proto/schema/mod.ts";
import { type Logger, logger } from "../proto/log.ts";
import type { NetworkMode } from "../runtime/runtime.ts";
import {
  cleanupNodeNetwork,
  NodeNetwork,
  type NodeNetworkOptions,
} from "../net/node/node_network.ts";
import type { NetworkHooks } from "./worker.ts";

/** What {@link WarrenNetworkHooks.attach} returns: the worker's result plus the resolv.conf. */
export interface AttachResult {
  network: NetworkMode;
  ip?: string;
  /** Host file to bind-mount read-only at /etc/resolv.conf in the container. */
  resolvConfPath: string;
}

/** Warren's network hooks. */
export interface WarrenNetworkHooks extends NetworkHooks {
  /** Creates (or finds again, after a worker restart) the task's namespace and address. */
  attach(a: Assignment): Promise<AttachResult>;
  /** Releases the task's namespace, address and host ports. Idempotent. */
  detach(taskId: string): Promise<void>;
  /** Takes a running task out of VIPs and DNS before it stops (see NodeNetwork.drainTask). */
  drain(a: Assignment): Promise<void>;
  /** Applies the endpoints of an assignments message (VIPs, ingress ports, DNS records). */
  apply(msg: AssignmentsMessage): Promise<void>;
  /** Calls {@link apply} for every message the worker applies. @returns the unsubscribe function */
  follow(worker: { onAssignments(fn: (msg: AssignmentsMessage) => void): () => void }): () => void;
  /** Removes everything the node added (resolver, chains, task networks, bridge). */
  /** Removes the data plane; `keepTasks` leaves task networks for re-adoption (see NodeNetwork). */
  close(opts?: { keepTasks?: boolean }): Promise<void>;
  /** The data plane underneath (diagnostics, tests). */
  readonly node: NodeNetwork;
}

/** Options of {@link createNetworkHooks}. */
export type NetworkHooksOptions = NodeNetworkOptions;

/** Opens the node's data plane and returns hooks for {@link Worker.open}'s `network`. */
export async function createNetworkHooks(o: NetworkHooksOptions): Promise<WarrenNetworkHooks> {
  const node = await NodeNetwork.open(o);
  const log: Logger = logger("worker.net", { node: o.nodeId });
  const apply = (msg: AssignmentsMessage) => node.apply(msg);
  return {
    node,
    async attach(a) {
      const t = await node.attachTask(a.task.id, a.spec.ports);
      return {
        network: { mode: "netns", path: t.netnsPath },
        ip: t.ip,
        resolvConfPath: t.resolvConfPath,
      };
    },
    detach: (taskId) => node.detachTask(taskId),
    drain: (a) => node.drainTask(a.task.id, a.task.serviceId),
    apply,
    follow(worker) {
      return worker.onAssignments((msg) => {
        void apply(msg).catch((err) =>
          log.error("cannot apply service endpoints to the node's network", { err })
        );
      });
    },
    close: (opts) => node.close(opts),
  };
}

/**
 * Removes a node's data plane from this host without open hooks (`warren cluster leave`, or a
 * node that crashed): namespaces, bridge, iptables/nft chains and the node's network state.
 */
export function cleanupNodeNetworking(o: { nodeId: string; dataDir: string }): Promise<void> {
  return cleanupNodeNetwork(o);
}

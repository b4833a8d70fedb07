/**
 * A worker node's networking, as the daemon starts it: the WireGuard mesh to other nodes (keys
 * made here, peers from the managers) and the node-local data plane (per-task namespaces through
 * CNI, service VIPs, DNS, published ports). Both follow the worker's assignment messages.
 * @module
 */
import { startNodeMesh } from "../../net/wireguard/node_mesh.ts";
import { createNetworkHooks, type WarrenNetworkHooks } from "../../worker/network_hooks.ts";
import type { NodeMesh } from "../../net/wireguard/node_mesh.ts";
import type { Worker } from "../../worker/worker.ts";
import { logger } from "../../proto/log.ts";

/** The started networking of one node. */
export interface NodeNetworking {
  mesh: NodeMesh;
  hooks: WarrenNetworkHooks;
  /** Feeds the worker's assignment messages to the mesh and the data plane. */
  follow(worker: Worker): () => void;
  /** Stops both; `keepTasks` leaves the task networks of running containers for re-adoption. */
  close(opts?: { keepTasks?: boolean }): Promise<void>;
}

/** Starts the mesh and the data plane of `nodeId` with task subnet `subnet`. */
export async function startNodeNetworking(o: {
  nodeId: string;
  dataDir: string;
  subnet: string;
  clusterCidr: string;
  advertiseAddr: string;
}): Promise<NodeNetworking> {
  const log = logger("network", { node: o.nodeId });
  const mesh = await startNodeMesh({
    nodeId: o.nodeId,
    dataDir: o.dataDir,
    subnet: o.subnet,
    advertiseAddr: o.advertiseAddr,
  });
  let hooks: WarrenNetworkHooks;
  try {
    hooks = await createNetworkHooks({
      nodeId: o.nodeId,
      subnet: o.subnet,
      clusterCidr: o.clusterCidr,
      dataDir: o.dataDir,
      // Task traffic to other nodes goes through the tunnel: fit its MTU.
      mtu: mesh.mesh.mtu,
    });
  } catch (err) {
    await mesh.close();
    throw err;
  }
  log.info("node network up", { subnet: o.subnet, wireguard: mesh.wireguard.endpoint });
  return {
    mesh,
    hooks,
    follow(worker) {
      const offMesh = worker.onAssignments((m) => void mesh.apply(m));
      const offNet = hooks.follow(worker);
      return () => {
        offMesh();
        offNet();
      };
    },
    async close(opts = {}) {
      await hooks.close(opts).catch((err) => log.warn("error closing the data plane", { err }));
      await mesh.close().catch((err) => log.warn("error closing the mesh", { err }));
    },
  };
}

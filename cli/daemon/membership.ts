/**
 * What a node's data directory keeps of its cluster membership, and how a node forgets it:
 * after `cluster leave`, or when the managers answer that the node is no longer a member (it
 * was removed). As `docker swarm leave` does, local volumes and the container runtime's images
 * survive; the identity, TLS files and task records go (and a manager's Raft log, cluster key
 * and REST token), so the next `warren join` starts afresh instead of resuming a node the
 * cluster does not know: a manager resumed on its old Raft log would run outside the cluster,
 * never elected nor reachable by a leader, and answer reads from its frozen copy of the state.
 * @module
 */
import { join } from "node:path";
import { FailedPreconditionError, type WarrenErrorOptions } from "../../proto/errors.ts";

/** The daemon of a node the managers no longer know stopped its tasks and forgot its membership. */
export class NodeRemovedError extends FailedPreconditionError {
  constructor(
    o: { nodeId: string; clusterId: string; dataDir: string },
    opts?: WarrenErrorOptions,
  ) {
    super(
      `node ${o.nodeId} is no longer a member of cluster ${o.clusterId} (it left or was removed): ` +
        `its tasks were stopped and ${o.dataDir} no longer holds its identity; join again with ` +
        "'warren join MANAGER_ADDR --token TOKEN'",
      opts,
    );
  }
}

/** Entries of `<dataDir>/worker` that outlive a membership: local volumes (as Docker keeps them). */
const WORKER_KEEP = new Set(["volumes"]);

/** Files of a manager's membership: its Raft log and state (Deno KV), cluster key, REST token. */
const MANAGER_FILES = [
  "raft.kv",
  "raft.kv-shm",
  "raft.kv-wal",
  "cluster.key",
  "rest.token",
];

/**
 * Removes a node's membership from `dataDir`: task records, logs and files (volumes stay),
 * the managers it knew, its WireGuard key, a manager's Raft state, cluster key and REST token,
 * TLS files and, last, its identity (so an interrupted run leaves a node that still finds out
 * it is no longer a member, never half an identity). The node's daemon must have stopped.
 */
export async function forgetMembership(dataDir: string): Promise<void> {
  const remove = (path: string) =>
    Deno.remove(path, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  const workerDir = join(dataDir, "worker");
  try {
    for await (const e of Deno.readDir(workerDir)) {
      if (!WORKER_KEEP.has(e.name)) await remove(join(workerDir, e.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (
    const name of [
      "managers.json",
      "leaving",
      "wireguard",
      ...MANAGER_FILES,
      "tls",
      "identity.json",
    ]
  ) {
    await remove(join(dataDir, name));
  }
}

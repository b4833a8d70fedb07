/**
 * What a node's data directory keeps of its cluster membership, and how a node forgets it:
 * after `cluster leave`, or when the managers answer that the node is no longer a member (it
 * was removed). As `docker swarm leave` does, local volumes and the container runtime's images
 * survive; the identity, TLS files and task records go (and a manager's Raft log, cluster key
 * and REST token), so the next `warren join` starts afresh instead of resuming a node the
 * cluster does not know: a manager resumed on its old Raft log would run outside the cluster,
 * never elected nor reachable by a leader, and answer reads from its frozen copy of the state.
 * A manager removed while it was down learns it when restarted on that log (a manager refuses
 * its Raft connection, or its worker is told it is not a member): its daemon then stops and
 * says to run `cluster leave` (ManagerRemovedError), keeping the data until the operator does.
 * @module
 */
import { join } from "node:path";
import {
  FailedPreconditionError,
  type WarrenError,
  type WarrenErrorOptions,
} from "../../proto/errors.ts";

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

/**
 * A manager's daemon stopped because the cluster removed its node (`node rm --force`, or
 * `cluster leave`, while it was down or cut off). Unlike a worker, it keeps its data directory
 * (a manager's holds a copy of the whole cluster's state): `cluster leave` cleans it up.
 */
export class ManagerRemovedError extends FailedPreconditionError {
  constructor(
    o: { nodeId: string; clusterId: string; dataDir: string; why: string },
    opts?: WarrenErrorOptions,
  ) {
    super(
      `this manager (node ${o.nodeId}) was removed from cluster ${o.clusterId} (${o.why}) and ` +
        `stopped, with its tasks: run 'warren cluster leave --data-dir ${o.dataDir}' to clean ` +
        "up its data and this host, then 'warren join MANAGER_ADDR --token TOKEN' to join again",
      opts,
    );
  }
}

/** What tells a manager's daemon that its node was removed from the cluster. */
export interface RemovalSignals {
  identity: { nodeId: string; clusterId: string };
  dataDir: string;
  /** The ID of a manager that refused this one's Raft connection as removed (Manager.removed). */
  raftRefusedBy: Promise<string>;
  /** The managers' "not a member" answer to the co-located worker, if one runs. */
  workerNotMember?: Promise<WarrenError>;
  /** Whether `cluster leave` asked this daemon to stop (pid_file.ts: leaveRequested). */
  leaveRequested: () => Promise<boolean>;
}

/**
 * Resolves with the error a manager's daemon exits with once either signal says its node was
 * removed. Both come from the cluster's replicated state (removed node IDs, node records), never
 * from silence, so a manager that is only cut off or catching up never hears them. A removal
 * `cluster leave` asked for is no failure: then this never settles, and leave stops the daemon.
 */
export async function managerRemoval(o: RemovalSignals): Promise<ManagerRemovedError> {
  const raft = o.raftRefusedBy.then((by) => ({
    why: `manager ${by} refuses it as a member`,
    cause: undefined as WarrenError | undefined,
  }));
  const worker = o.workerNotMember?.then((err) => ({
    why: "the managers told its worker it is not a member",
    cause: err as WarrenError | undefined,
  }));
  const { why, cause } = await Promise.race(worker ? [raft, worker] : [raft]);
  if (await o.leaveRequested()) return await new Promise<never>(() => {});
  return new ManagerRemovedError(
    { ...o.identity, dataDir: o.dataDir, why },
    cause ? { cause } : {},
  );
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

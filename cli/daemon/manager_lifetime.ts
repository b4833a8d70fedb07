/**
 * How a manager's daemon (`cluster init` or `join`) runs to its end: until SIGINT/SIGTERM, its
 * Raft node giving up (e.g. the cluster is above its feature level), or the cluster telling it
 * that its node was removed (restarted on its old data directory; membership.ts). The last two
 * end the process with the error rather than let it linger without applying the log.
 * @module
 */
import type { WarrenError } from "../../proto/errors.ts";
import { logger } from "../../proto/log.ts";
import { managerRemoval, ManagerRemovedError } from "./membership.ts";
import { leaveRequested } from "./pid_file.ts";
import { runStops, waitForShutdown } from "./shutdown.ts";

/** What {@link runManagerToEnd} reads of a started manager. */
export interface ManagerLife {
  identity: { nodeId: string; clusterId: string };
  /** Settles with the error its Raft node gave up with (Manager.failed). */
  failed: Promise<Error>;
  /** A manager that refused it as removed (Manager.removed). */
  removed: Promise<string>;
}

/**
 * Waits for the daemon's end, then runs `stops`; when the node is out of the cluster (removed,
 * or `cluster leave` asked), `leaving` is called first, so the stops take its tasks down too
 * (they run elsewhere now). Throws the error that ended it, if one did.
 */
export async function runManagerToEnd(o: {
  mgr: ManagerLife;
  dataDir: string;
  /** The managers' "not a member" answer to the co-located worker, if one runs. */
  workerNotMember?: Promise<WarrenError>;
  stops: readonly (() => Promise<void>)[];
  leaving: () => void;
}): Promise<void> {
  let failure: Error | undefined;
  const removed = managerRemoval({
    identity: o.mgr.identity,
    dataDir: o.dataDir,
    raftRefusedBy: o.mgr.removed,
    ...(o.workerNotMember ? { workerNotMember: o.workerNotMember } : {}),
    leaveRequested: () => leaveRequested(o.dataDir),
  });
  await waitForShutdown(async () => {
    if (failure instanceof ManagerRemovedError || await leaveRequested(o.dataDir)) o.leaving();
    await runStops(o.stops, (err) => logger("daemon").warn("error while stopping", { err }));
  }, { until: Promise.race([o.mgr.failed, removed]).then((err) => failure = err) });
  if (failure) throw failure;
}

/**
 * `warren cluster init`: starts a manager that bootstraps a new cluster (or resumes the one in
 * its data directory), writes the CLI's admin credentials, and by default also runs a worker in
 * the same process, so one command gives a working single-node cluster. Foreground until
 * SIGINT/SIGTERM.
 * @module
 */
import { Command } from "commander";
import {
  addDaemonFlags,
  addWorkerFlags,
  advertiseAddress,
  applyLogFlags,
  type DaemonFlags,
  type WorkerFlags,
} from "./options.ts";
import { runStops } from "./shutdown.ts";
import { runManagerToEnd } from "./manager_lifetime.ts";
import { managersToRecord, writePidFile } from "./pid_file.ts";
import { writeAdminConfig } from "./admin_config.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import { keepManagerConfig } from "./config_managers.ts";
import { lockedNotice } from "./manager_banner.ts";
import type { WarrenError } from "../../proto/errors.ts";

type InitFlags = DaemonFlags & WorkerFlags & {
  name: string;
  clusterCidr: string;
  serviceCidr: string;
  nodeSubnetBits: string;
  managerOnly?: boolean;
  autolock?: boolean;
};

/** The `init` subcommand of `cluster`. */
export function clusterInitCommand(): Command {
  const cmd = new Command("init")
    .description(
      "create a new cluster with this machine as its first manager (and worker), and run it",
    )
    .option("--name <name>", "cluster name", "warren")
    .option("--cluster-cidr <cidr>", "address range for tasks", "10.240.0.0/16")
    .option("--service-cidr <cidr>", "address range for service VIPs", "10.96.0.0/16")
    .option("--node-subnet-bits <n>", "prefix length of each node's task subnet", "24")
    .option("--manager-only", "do not run a worker on this node")
    .option(
      "--autolock",
      "keep the cluster key on managers' disks only under an unlock key ('cluster unlock-key')",
    );
  addDaemonFlags(cmd);
  addWorkerFlags(cmd);
  cmd.action(async (o: InitFlags) => {
    applyLogFlags(o);
    // Before anything reads or writes the data directory: one daemon per node.
    using _dataDir = await lockDataDir(o.dataDir);
    // Loaded here, not at the top: a worker-only process never needs the manager's code
    // (Raft, API, HTTP): ~10 MiB of RSS.
    const { Manager } = await import("../../manager/manager.ts");
    const { readIdentity } = await import("../../manager/identity.ts");
    const fresh = (await readIdentity(o.dataDir)) === undefined;
    const mgr = await Manager.start({
      dataDir: o.dataDir,
      apiAddr: o.apiAddr,
      raftAddr: o.raftAddr,
      httpAddr: o.httpAddr,
      advertiseAddr: advertiseAddress(o.advertiseAddr, o.apiAddr),
      init: {
        clusterName: o.name,
        cidrs: {
          clusterCidr: o.clusterCidr,
          serviceCidr: o.serviceCidr,
          nodeSubnetBits: Number(o.nodeSubnetBits),
        },
      },
    });
    const stops: (() => Promise<void>)[] = [
      () => mgr.stop(),
      await writePidFile(o.dataDir, { managers: managersToRecord(mgr) }),
    ];
    // Tasks stop with the daemon when asked, or when the node left its cluster.
    let drain = o.drainOnExit ?? false;
    // A node that left removes its containers as well (before its own containerd stops).
    let leaving = false;
    let workerNotMember: Promise<WarrenError> | undefined;
    try {
      // A manager restarted under autolock cannot sign until unlocked: keep the CLI config.
      const locked = await mgr.ctx.localKek?.locked();
      const configPath = locked ? undefined : await writeAdminConfig({
        clusterId: mgr.identity.clusterId,
        managers: [mgr.apiAddress],
        ...(await mgr.issueAdminCertificate("admin")),
      });
      // Managers that join later are added to this machine's CLI config, and those that leave
      // are dropped from it (a restart under autolock kept the config: keep it current too).
      const stopConfigSync = keepManagerConfig(configPath, mgr);
      stops.unshift(() => Promise.resolve(stopConfigSync()));
      // Only when this start creates the cluster: a flag left in a service file must not turn
      // autolock back on after `cluster update --autolock false`.
      const autolock = o.autolock && fresh && !locked;
      if (autolock) {
        const { updateAutolock } = await import("../../manager/api/autolock.ts");
        await updateAutolock(mgr.ctx, { autolock: true, rotate: false });
      }
      if (!o.managerOnly) {
        const { startColocatedWorker } = await import("./colocated_worker.ts");
        const w = await startColocatedWorker(mgr, o);
        stops.unshift(() => w.stop({ drain, remove: leaving }));
        workerNotMember = w.notMember;
      }
      console.log(
        `cluster ${mgr.identity.clusterId} running; manager ${mgr.identity.nodeId} at ${mgr.apiAddress}${
          o.managerOnly ? "" : " (also running tasks)"
        }`,
      );
      if (configPath) {
        console.log(
          `CLI credentials in ${configPath}; add nodes with 'warren cluster join-token worker'`,
        );
      }
      if (autolock) {
        // Not printed here: a daemon's output often ends in a log on the very disk the key
        // protects. The admin fetches it once, over mutual TLS.
        console.log(
          "autolock is on: print the unlock key with 'warren cluster unlock-key' and keep it " +
            "safe; a restarted manager needs it",
        );
      }
      if (locked) console.log(lockedNotice(mgr.apiAddress));
    } catch (err) {
      await runStops(stops);
      // A step above failed because the manager cannot apply the log: say why.
      throw mgr.failure ?? err;
    }
    await runManagerToEnd({
      mgr,
      dataDir: o.dataDir,
      ...(workerNotMember ? { workerNotMember } : {}),
      stops,
      leaving: () => drain = leaving = true,
    });
  });
  return cmd;
}

/**
 * `warren cluster init`: starts a manager that bootstraps a new cluster (or resumes the one in
 * its data directory) and runs in the foreground until SIGINT/SIGTERM.
 * @module
 */
import { Command } from "commander";
import { Manager } from "../../manager/manager.ts";
import { addDaemonFlags, advertiseAddress, applyLogFlags, type DaemonFlags } from "./options.ts";
import { waitForShutdown } from "./shutdown.ts";

/** The `init` subcommand of `cluster`. */
export function clusterInitCommand(): Command {
  const cmd = new Command("init")
    .description("create a new cluster with this machine as its first manager, and run it")
    .option("--name <name>", "cluster name", "warren")
    .option("--cluster-cidr <cidr>", "address range for tasks", "10.240.0.0/16")
    .option("--service-cidr <cidr>", "address range for service VIPs", "10.96.0.0/16")
    .option("--node-subnet-bits <n>", "prefix length of each node's task subnet", "24");
  addDaemonFlags(cmd);
  cmd.action(async (
    o: DaemonFlags & {
      name: string;
      clusterCidr: string;
      serviceCidr: string;
      nodeSubnetBits: string;
    },
  ) => {
    applyLogFlags(o);
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
    console.log(
      `cluster ${mgr.identity.clusterId} running; manager ${mgr.identity.nodeId} at ${mgr.apiAddress}`,
    );
    await waitForShutdown(() => mgr.stop());
  });
  return cmd;
}

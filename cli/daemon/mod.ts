/**
 * The daemon commands: the only place that wires manager, worker, runtime and net together.
 * @module
 */
import { Command } from "commander";
import { clusterInitCommand } from "./cluster_init.ts";

/** Adds the daemon commands to `program` (into the `cluster` group, created if absent). */
export function registerDaemonCommands(program: Command): void {
  let cluster = program.commands.find((c) => c.name() === "cluster");
  if (!cluster) {
    cluster = new Command("cluster").description("manage the cluster");
    program.addCommand(cluster);
  }
  cluster.addCommand(clusterInitCommand());
}

/**
 * The daemon commands: the only place that wires manager, worker, runtime and net together.
 * `cluster init`, `join` (also `cluster join` and `manager join`: the seed's spellings), and
 * `worker start`.
 * @module
 */
import { Command } from "commander";
import { clusterInitCommand } from "./cluster_init.ts";
import { joinCommand } from "./join.ts";
import { workerStartCommand } from "./worker_start.ts";
import { certCommand } from "./cert.ts";
import { leaveCommand } from "./leave.ts";
import { usageErrorsThrow } from "../commands/_group.ts";

function group(program: Command, name: string, description: string): Command {
  let g = program.commands.find((c) => c.name() === name);
  if (!g) {
    g = usageErrorsThrow(new Command(name).description(description));
    program.addCommand(g);
  }
  return g;
}

/** Adds the daemon commands to `program` (into the `cluster`, `manager`, `worker` groups). */
export function registerDaemonCommands(program: Command): void {
  const add = (to: Command, cmd: Command) => to.addCommand(usageErrorsThrow(cmd));
  const cluster = group(program, "cluster", "manage the cluster");
  add(cluster, clusterInitCommand());
  add(cluster, joinCommand());
  add(cluster, leaveCommand());
  add(program, joinCommand());
  add(group(program, "manager", "run a manager"), joinCommand());
  add(group(program, "worker", "run a worker"), workerStartCommand());
  add(program, certCommand());
}

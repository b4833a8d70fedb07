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

function group(program: Command, name: string, description: string): Command {
  let g = program.commands.find((c) => c.name() === name);
  if (!g) {
    g = new Command(name).description(description);
    program.addCommand(g);
  }
  return g;
}

/** Adds the daemon commands to `program` (into the `cluster`, `manager`, `worker` groups). */
export function registerDaemonCommands(program: Command): void {
  group(program, "cluster", "manage the cluster").addCommand(clusterInitCommand()).addCommand(
    joinCommand(),
  ).addCommand(leaveCommand());
  program.addCommand(joinCommand());
  group(program, "manager", "run a manager").addCommand(joinCommand());
  group(program, "worker", "run a worker").addCommand(workerStartCommand());
  program.addCommand(certCommand());
}

/**
 * Builds the commander program: the root command and every command group.
 * @module
 */
import type { Command } from "commander";
import { rootCommand } from "./root.ts";
import { versionCommand } from "./commands/version.ts";
import { clusterCommand } from "./commands/cluster.ts";
import { nodeCommand } from "./commands/node.ts";
import { serviceCommand } from "./commands/service.ts";
import { secretCommand } from "./commands/secret.ts";
import { volumeCommand } from "./commands/volume.ts";
import { eventsCommand } from "./commands/events.ts";
import { applyCommand } from "./commands/apply.ts";
import { completionCommand } from "./commands/completion.ts";
import { registerDaemonCommands } from "./daemon/mod.ts";
import { addNestedHelpCommand } from "./help_command.ts";

/** Creates a fresh program; errors throw (exitOverride) so `main` owns exit codes. */
export function buildProgram(): Command {
  const program = rootCommand();
  program.addCommand(versionCommand());
  program.addCommand(clusterCommand());
  program.addCommand(nodeCommand());
  program.addCommand(serviceCommand());
  program.addCommand(secretCommand());
  program.addCommand(volumeCommand());
  program.addCommand(eventsCommand());
  program.addCommand(applyCommand());
  program.addCommand(completionCommand());
  // Last, so client command groups (e.g. `cluster`) exist and get the daemon subcommands.
  registerDaemonCommands(program);
  return addNestedHelpCommand(program);
}

/**
 * Builds the commander program: the root command and every command group.
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../proto/version.ts";
import { versionCommand } from "./commands/version.ts";
import { registerDaemonCommands } from "./daemon/mod.ts";

/** Creates a fresh program; errors throw (exitOverride) so `main` owns exit codes. */
export function buildProgram(): Command {
  const program = new Command("warren")
    .description("Warren: a container orchestrator for edge and small clusters")
    .version(VERSION, "-v, --version", "print the version")
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(versionCommand());
  // Last, so client command groups (e.g. `cluster`) exist and get the daemon subcommands.
  registerDaemonCommands(program);
  return program;
}

/**
 * The root `warren` command, shared by the full program (program.ts) and the daemons' program
 * (daemon/program.ts).
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../proto/version.ts";

/** A root command with no subcommands; errors throw (exitOverride) so `main` owns exit codes. */
export function rootCommand(): Command {
  return new Command("warren")
    .description("Warren: a container orchestrator for edge and small clusters")
    .version(VERSION, "-v, --version", "print the version")
    .showHelpAfterError()
    .exitOverride();
}

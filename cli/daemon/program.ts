/**
 * The program a long-running daemon parses its arguments with: the daemon commands only. A
 * manager or worker keeps every module it loaded for its whole life, and the client command
 * groups (tables, YAML, apply, completion) are ~3 MiB of them it never uses.
 * @module
 */
import type { Command } from "commander";
import { rootCommand } from "../root.ts";
import { registerDaemonCommands } from "./mod.ts";
import { addNestedHelpCommand } from "../help_command.ts";

/** Invocations that start a daemon (first arguments). */
const DAEMONS: readonly (readonly string[])[] = [
  ["cluster", "init"],
  ["cluster", "join"],
  ["manager", "join"],
  ["join"],
  ["worker", "start"],
];

/** Whether `args` start a daemon (help and version requests do not). */
export function startsDaemon(args: readonly string[]): boolean {
  if (args.some((a) => a === "-h" || a === "--help" || a === "help")) return false;
  return DAEMONS.some((d) => d.every((word, i) => args[i] === word));
}

/** A program with the daemon commands only. */
export function buildDaemonProgram(): Command {
  const program = rootCommand();
  registerDaemonCommands(program);
  return addNestedHelpCommand(program);
}

/**
 * The root `warren` command, shared by the full program (program.ts) and the daemons' program
 * (daemon/program.ts).
 * @module
 */
import { Command, type Command as CommandType, Option } from "commander";
import { VERSION } from "../proto/version.ts";
import { parseManagerList } from "./config.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * A root command with no subcommands; errors throw (exitOverride) so `main` owns exit codes.
 *
 * It takes `--manager HOST:PORT` before the command (`warren --manager m:4242 service ls`), as
 * `docker -H` does, for every command that has a `--manager` of its own. Root options are
 * positional (recognised only before the command): a command's own `--manager`, wherever it
 * stands, stays the command's, and wins over the root's (the more specific one, e.g. a
 * command line that overrides an alias `warren --manager prod:4242`).
 */
export function rootCommand(): Command {
  const root = new Command("warren")
    .description("Warren: a container orchestrator for edge and small clusters")
    .version(VERSION, "-v, --version", "print the version")
    .enablePositionalOptions()
    .addOption(
      new Option(
        "--manager <host:port>",
        "manager API address for the command (repeatable or comma list; the command's own " +
          "--manager wins)",
      ).argParser(collect),
    )
    .showHelpAfterError()
    .exitOverride();
  root.hook("preAction", (_root, action) => inheritManagerFlag(root, action));
  return root;
}

/**
 * Gives `action` the root's `--manager` values when it takes `--manager` and was given none,
 * each value parsed by the command's own option as if typed after the command (so a command
 * whose `--manager` takes one address keeps the last, as it would). A command without
 * `--manager` talks to no manager and ignores it; the values are still checked, so a mistyped
 * flag is never silently dropped.
 */
export function inheritManagerFlag(root: CommandType, action: CommandType): void {
  const values = root.getOptionValue("manager") as string[] | undefined;
  if (values === undefined || action === root) return;
  parseManagerList(values);
  const option = action.options.find((o) => o.long === "--manager");
  if (!option) return;
  const name = option.attributeName();
  const source = action.getOptionValueSource(name);
  if (source !== undefined && source !== "default") return;
  let value: unknown = option.defaultValue;
  for (const v of values) value = option.parseArg ? option.parseArg(v, value) : v;
  action.setOptionValueWithSource(name, value, "cli");
}

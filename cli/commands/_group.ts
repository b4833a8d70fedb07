/**
 * Helpers for building command groups: errors throw (exitOverride) so `main` owns the exit
 * code, and subcommands made with `.command()` inherit that.
 * @module
 */
import { Command } from "commander";
import { ExitCode } from "../exit_code.ts";
import { toWarrenError } from "../../proto/errors.ts";
import type { CliContext } from "./_context.ts";

/** A command group (`service`, `node`, ...). */
export function commandGroup(name: string, description: string): Command {
  return usageErrorsThrow(new Command(name).description(description));
}

/**
 * Makes `cmd` and the subcommands it has so far throw on a usage error (exitOverride), so
 * `main` answers it with exit code 2 and a pointer to --help. Subcommands made later with
 * `.command()` inherit it; ones added with `addCommand` do not: give them this too.
 */
export function usageErrorsThrow(cmd: Command): Command {
  cmd.exitOverride().showHelpAfterError("(add --help for usage)");
  for (const sub of cmd.commands) usageErrorsThrow(sub);
  return cmd;
}

/**
 * Runs `fn` for each of `items`, reporting each failure on stderr and going on; throws
 * ExitCode(1) at the end if any failed (like `docker rm a b`).
 */
export async function forEachReporting<T>(
  ctx: CliContext,
  items: readonly T[],
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let failed = 0;
  for (const item of items) {
    try {
      await fn(item);
    } catch (err) {
      failed++;
      ctx.io.err(`error: ${toWarrenError(err).message}`);
    }
  }
  if (failed > 0) throw new ExitCode(1);
}

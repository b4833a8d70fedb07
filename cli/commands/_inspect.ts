/**
 * The `inspect` subcommand every object group shares (service, node, secret, volume): JSON by
 * default like `docker inspect` (an object has no table), or YAML with `-o yaml`; always an
 * array, one element per name (also for one name, so `jq '.[0]'` works whatever was asked).
 * A name that finds nothing is reported on stderr and the others are still printed; the exit
 * code is then 1 (as `docker inspect web nosuch`).
 * @module
 */
import type { Command } from "commander";
import type { WarrenClient } from "../../net/client/client.ts";
import { toWarrenError, WarrenError } from "../../proto/errors.ts";
import { ExitCode } from "../exit_code.ts";
import { renderObject } from "../output/format.ts";
import { addClientFlags, type CliContext, type ClientFlags, withClient } from "./_context.ts";

/** What differs between the `inspect` commands. */
export interface InspectCommandOptions<T> {
  /** The command's help line, e.g. "show services in detail". */
  description: string;
  /** The variadic argument, e.g. `<service...>`. */
  argument: string;
  /** The argument's help, e.g. "service IDs or names". */
  argumentDescription: string;
  /** Fetches one object by ID or name. */
  inspect(client: WarrenClient, id: string): Promise<T>;
}

/** Errors about one name (nothing has it, or it cannot be one), reported per name. */
function isNameError(err: unknown): boolean {
  return err instanceof WarrenError &&
    (err.code === "not_found" || err.code === "invalid_argument");
}

/** Adds `inspect` to `group` and returns it. */
export function addInspectCommand<T>(
  group: Command,
  ctx: CliContext,
  opts: InspectCommandOptions<T>,
): Command {
  return addClientFlags(group.command("inspect").description(opts.description), {
    formats: ["json", "yaml"],
  })
    .argument(opts.argument, opts.argumentDescription)
    .action(async (ids: string[], o: ClientFlags) => {
      const results = await withClient(ctx, o, async (c) => {
        const settled = await Promise.allSettled(ids.map((id) => opts.inspect(c, id)));
        // Any other failure (no manager, not allowed) is the whole command's: thrown here, so
        // withClient can explain it once instead of once per name.
        const fatal = settled.find((r) => r.status === "rejected" && !isNameError(r.reason));
        if (fatal?.status === "rejected") throw fatal.reason;
        return settled;
      });
      const found = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
      ctx.io.out(renderObject(found, o.output));
      for (const r of results) {
        if (r.status === "rejected") ctx.io.err(`error: ${toWarrenError(r.reason).message}`);
      }
      if (found.length < ids.length) throw new ExitCode(1);
    });
}

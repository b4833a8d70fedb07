/**
 * The `inspect` subcommand every object group shares (service, node, secret, volume): JSON by
 * default like `docker inspect` (an object has no table), or YAML with `-o yaml`; always an
 * array, one element per name (also for one name, so `jq '.[0]'` works whatever was asked).
 * @module
 */
import type { Command } from "commander";
import type { WarrenClient } from "../../net/client/client.ts";
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
      const found = await withClient(
        ctx,
        o,
        (c) => Promise.all(ids.map((id) => opts.inspect(c, id))),
      );
      ctx.io.out(renderObject(found, o.output));
    });
}

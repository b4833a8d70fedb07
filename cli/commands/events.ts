/**
 * `warren events [--since-index N] [--kind K]`: streams cluster changes until Ctrl-C. Each line
 * carries the Raft index; `--since-index N+1` resumes after the last line seen.
 * @module
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { EventKindSchema } from "../../proto/schema/mod.ts";
import type { EventKind } from "../../proto/schema/mod.ts";
import { renderYaml } from "../output/format.ts";
import { eventLine } from "../output/views.ts";
import {
  addClientFlags,
  type CliContext,
  type ClientFlags,
  defaultContext,
  withClient,
} from "./_context.ts";
import { parseIntFlag } from "./_units.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The `events` command. */
export function eventsCommand(ctx: CliContext = defaultContext()): Command {
  const cmd = new Command("events").description("stream cluster changes until interrupted")
    .exitOverride().showHelpAfterError("(add --help for usage)");
  return addClientFlags(cmd)
    .option(
      "--since-index <n>",
      "start at this Raft index (0: from the first; resume with the last index seen + 1)",
    )
    .addOption(
      new Option(
        "--kind <kind>",
        `only this kind: ${EventKindSchema.options.join(", ")} (repeatable)`,
      )
        .argParser((v: string, prev: string[] | undefined) => {
          if (!(EventKindSchema.options as readonly string[]).includes(v)) {
            throw new InvalidArgumentError(
              `Allowed choices are ${EventKindSchema.options.join(", ")}.`,
            );
          }
          return collect(v, prev);
        }),
    )
    .action(async (o: ClientFlags & { sinceIndex?: string; kind?: EventKind[] }) => {
      // On the wire 0 means "from now on"; on the command line `--since-index 0` asks for
      // everything kept, which starts at index 1 (Raft's first).
      const fromIndex = o.sinceIndex === undefined
        ? 0
        : Math.max(1, parseIntFlag(o.sinceIndex, "--since-index"));
      const signal = ctx.interrupt();
      await withClient(ctx, o, async (c) => {
        for await (const ev of c.events.watch({ fromIndex, kinds: o.kind, signal })) {
          if (o.output === "json") ctx.io.out(JSON.stringify(ev));
          else if (o.output === "yaml") ctx.io.out(`---\n${renderYaml(ev)}`);
          else ctx.io.out(eventLine(ev));
        }
      });
    });
}

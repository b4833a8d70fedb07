/**
 * `warren volume create|ls|inspect|rm`.
 * @module
 */
import { type Command, Option } from "commander";
import { VolumeDriverSchema } from "../../proto/schema/mod.ts";
import { renderList, renderObject } from "../output/format.ts";
import { volumeView } from "../output/views.ts";
import {
  addClientFlags,
  type CliContext,
  type ClientFlags,
  defaultContext,
  withClient,
} from "./_context.ts";
import { commandGroup, forEachReporting } from "./_group.ts";
import { addInspectCommand } from "./_inspect.ts";
import { parseKeyValue } from "./_values.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The `volume` command group. */
export function volumeCommand(ctx: CliContext = defaultContext()): Command {
  const group = commandGroup("volume", "manage volumes");
  addClientFlags(group.command("create").description("create a volume"))
    .argument("<name>", "volume name (a DNS label)")
    .addOption(
      new Option("--driver <driver>", "volume driver").choices(VolumeDriverSchema.options).default(
        "local",
      ),
    )
    .addOption(new Option("--opt <k=v>", "driver option (repeatable)").argParser(collect))
    .addOption(new Option("--label <k=v>", "volume label (repeatable)").argParser(collect))
    .option("--node <node>", "node the volume lives on (default: where a task needs it)")
    .action(
      async (
        name: string,
        o: ClientFlags & { driver: "local"; opt?: string[]; label?: string[]; node?: string },
      ) => {
        const options = Object.fromEntries((o.opt ?? []).map((x) => parseKeyValue(x, "--opt")));
        const labels = Object.fromEntries(
          (o.label ?? []).map((l) => parseKeyValue(l, "--label", { allowBare: true })),
        );
        const volume = await withClient(
          ctx,
          o,
          (c) => c.volumes.create({ name, driver: o.driver, nodeId: o.node, options, labels }),
        );
        ctx.io.out(o.output === "table" ? volume.id : renderObject(volume, o.output));
      },
    );
  addClientFlags(group.command("ls").alias("list").description("list volumes"), { quiet: true })
    .action(async (o: ClientFlags) => {
      const { volumes } = await withClient(ctx, o, (c) => c.volumes.list());
      ctx.io.out(renderList(volumes, volumeView(ctx.now()), { format: o.output, quiet: o.quiet }));
    });
  addInspectCommand(group, ctx, {
    description: "show volumes in detail",
    argument: "<volume...>",
    argumentDescription: "volume IDs or names",
    inspect: (c, id) => c.volumes.inspect(id),
  });
  addClientFlags(group.command("rm").alias("remove").description("delete volumes"))
    .argument("<volume...>", "volume IDs or names")
    .option(
      "-f, --force",
      "no error for a volume that does not exist (as in Docker, a volume a service mounts is never deleted)",
    )
    .action(async (ids: string[], o: ClientFlags & { force?: boolean }) => {
      await withClient(ctx, o, (c) =>
        forEachReporting(ctx, ids, async (id) => {
          await c.volumes.delete(id, { force: o.force });
          ctx.io.out(id);
        }));
    });
  return group;
}

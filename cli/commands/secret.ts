/**
 * `warren secret create|ls|inspect|rm`. Secret data goes in once (from a file, a literal or
 * stdin) and never comes back: inspect shows metadata only.
 * @module
 */
import { type Command, Option } from "commander";
import { ValidationError } from "../../proto/errors.ts";
import { renderList, renderObject } from "../output/format.ts";
import { secretView } from "../output/views.ts";
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

/**
 * Where `secret create` takes the data from: exactly one source, else stdin. `file` is the
 * optional FILE argument of Swarm's `docker secret create NAME FILE` (`-`: stdin).
 */
export async function secretData(
  o: { fromFile?: string; fromLiteral?: string },
  readStdin: () => Promise<Uint8Array>,
  file?: string,
): Promise<Uint8Array> {
  if (file !== undefined && o.fromFile !== undefined) {
    throw new ValidationError("FILE", "cannot be combined with --from-file");
  }
  if (file !== undefined && o.fromLiteral !== undefined) {
    throw new ValidationError("FILE", "cannot be combined with --from-literal");
  }
  const path = file !== undefined && file !== "-" ? file : o.fromFile;
  if (o.fromFile !== undefined && o.fromLiteral !== undefined) {
    throw new ValidationError("--from-literal", "cannot be combined with --from-file");
  }
  if (o.fromLiteral !== undefined) return new TextEncoder().encode(o.fromLiteral);
  if (path !== undefined) {
    try {
      return await Deno.readFile(path);
    } catch (err) {
      const flag = path === file ? "FILE" : "--from-file";
      throw new ValidationError(flag, `cannot read ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const data = await readStdin();
  if (data.length === 0) {
    throw new ValidationError(
      "data",
      "is empty: name a FILE (or --from-file FILE), pass --from-literal TEXT, or pipe it on stdin",
    );
  }
  return data;
}

/** The `secret` command group. */
export function secretCommand(ctx: CliContext = defaultContext()): Command {
  const group = commandGroup("secret", "manage secrets");
  addClientFlags(
    group.command("create").description("create a secret from a file, a literal or stdin"),
  )
    .argument("<name>", "secret name (a DNS label)")
    .argument("[file]", "read the data from this file (- for stdin), as --from-file")
    .option("--from-file <file>", "read the data from a file")
    .option("--from-literal <text>", "use this text as the data")
    .addOption(new Option("--label <k=v>", "secret label (repeatable)").argParser(collect))
    .action(
      async (
        name: string,
        file: string | undefined,
        o: ClientFlags & { fromFile?: string; fromLiteral?: string; label?: string[] },
      ) => {
        const labels = Object.fromEntries(
          (o.label ?? []).map((l) => parseKeyValue(l, "--label", { allowBare: true })),
        );
        const data = await secretData(o, ctx.io.readStdin, file);
        const secret = await withClient(ctx, o, (c) => c.secrets.create({ name, data, labels }));
        ctx.io.out(o.output === "table" ? secret.id : renderObject(secret, o.output));
      },
    );
  addClientFlags(
    group.command("update").description("replace a secret's data (services using it roll)"),
  )
    .argument("<secret>", "secret ID or name")
    .argument("[file]", "read the data from this file (- for stdin), as --from-file")
    .option("--from-file <file>", "read the data from a file")
    .option("--from-literal <text>", "use this text as the data")
    .addOption(
      new Option("--label <k=v>", "secret label (repeatable; replaces all)").argParser(collect),
    )
    .action(
      async (
        id: string,
        file: string | undefined,
        o: ClientFlags & { fromFile?: string; fromLiteral?: string; label?: string[] },
      ) => {
        const labels = o.label === undefined ? undefined : Object.fromEntries(
          o.label.map((l) => parseKeyValue(l, "--label", { allowBare: true })),
        );
        const data = await secretData(o, ctx.io.readStdin, file);
        const secret = await withClient(ctx, o, async (c) => {
          // Without --label the labels stay as they are.
          const keep = labels ?? (await c.secrets.inspect(id)).labels;
          return await c.secrets.update(id, { data, labels: keep });
        });
        ctx.io.out(o.output === "table" ? secret.id : renderObject(secret, o.output));
      },
    );
  addClientFlags(group.command("ls").alias("list").description("list secrets"), { quiet: true })
    .action(async (o: ClientFlags) => {
      const { secrets } = await withClient(ctx, o, (c) => c.secrets.list());
      ctx.io.out(renderList(secrets, secretView(ctx.now()), { format: o.output, quiet: o.quiet }));
    });
  addInspectCommand(group, ctx, {
    description: "show secret metadata",
    argument: "<secret...>",
    argumentDescription: "secret IDs or names",
    inspect: (c, id) => c.secrets.inspect(id),
  });
  addClientFlags(group.command("rm").alias("remove").description("delete secrets"))
    .argument("<secret...>", "secret IDs or names")
    .action(async (ids: string[], o: ClientFlags) => {
      await withClient(ctx, o, (c) =>
        forEachReporting(ctx, ids, async (id) => {
          await c.secrets.delete(id);
          ctx.io.out(id);
        }));
    });
  return group;
}

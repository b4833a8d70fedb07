/**
 * `warren apply -f FILE [-f FILE...] [--plan]`: makes the cluster match multi-document YAML files.
 * Creates what is missing, updates services that differ, leaves equal objects alone, and leaves
 * objects the files do not mention alone too (no prune). `--plan` prints
 * the plan and exits 0 (no change), 2 (changes) or 1 (error or conflict). Everything the manager
 * would refuse (missing secrets, taken ports, mode changes) is a conflict found before anything
 * is sent: a file is applied whole or not at all.
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { Command } from "commander";
import { toWarrenError, ValidationError } from "../../proto/errors.ts";
import { decodeBase64 } from "../../proto/schema/mod.ts";
import { ExitCode } from "../exit_code.ts";
import { renderObject } from "../output/format.ts";
import {
  addClientFlags,
  type CliContext,
  type ClientFlags,
  defaultContext,
  withClient,
} from "./_context.ts";
import {
  type Desired,
  formatPlan,
  parseApplyFiles,
  type Plan,
  planApply,
  type SecretSource,
} from "./_apply_plan.ts";

async function readSource(file: string, ctx: CliContext): Promise<string> {
  try {
    if (file === "-") return new TextDecoder().decode(await ctx.io.readStdin());
    return await Deno.readTextFile(file);
  } catch (err) {
    throw new ValidationError("--file", `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function secretBytes(
  source: SecretSource,
  baseDir: string,
  name: string,
): Promise<Uint8Array> {
  if ("value" in source) return new TextEncoder().encode(source.value);
  if ("data" in source) return decodeBase64(source.data);
  const path = isAbsolute(source.file) ? source.file : join(baseDir, source.file);
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new ValidationError(
      `Secret ${name}.file`,
      `cannot read ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Plans in JSON/YAML output: the items without the full desired objects. */
function planSummary(plan: Plan) {
  return plan.items.map(({ kind, name, action, changes, reason, id }) => ({
    kind,
    name,
    action,
    changes,
    reason,
    id,
  }));
}

/** Collects a repeatable flag's values in order. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The `apply` command. */
export function applyCommand(ctx: CliContext = defaultContext()): Command {
  const cmd = new Command("apply")
    .description("create or update services, secrets and volumes from a YAML file")
    .exitOverride().showHelpAfterError("(add --help for usage)");
  return addClientFlags(cmd)
    .requiredOption(
      "-f, --file <file>",
      "multi-document YAML file (- for stdin); repeat to apply several files as one",
      collect,
    )
    .option("--plan", "only print what would change; exit 0 no change, 2 changes, 1 error")
    .addHelpText(
      "after",
      "\nObjects that are in the cluster but not in the files are left alone (there is no\n" +
        "--prune as in 'docker stack deploy'): remove them with 'warren service rm' etc.",
    )
    .action(async (o: ClientFlags & { file: string[]; plan?: boolean }) => {
      if (o.file.filter((f) => f === "-").length > 1) {
        throw new ValidationError("--file", "- (stdin) can be given only once");
      }
      const sources = await Promise.all(
        o.file.map(async (path) => ({ path, text: await readSource(path, ctx) })),
      );
      const perFile = parseApplyFiles(sources);
      const desired: Desired[] = perFile.flat();
      // Secret files are read before anything is sent, so a missing file changes nothing. A
      // relative path is relative to the file that names it.
      const secretData = new Map<string, Uint8Array>();
      for (const [i, items] of perFile.entries()) {
        const path = o.file[i]!;
        const baseDir = path === "-" ? Deno.cwd() : dirname(path);
        for (const item of items) {
          if (item.kind === "Secret") {
            secretData.set(item.name, await secretBytes(item.source, baseDir, item.name));
          }
        }
      }
      await withClient(ctx, o, async (c) => {
        // Only the kinds the file mentions are listed (a manager may not serve every kind).
        const has = (kind: Desired["kind"]) => desired.some((x) => x.kind === kind);
        const pinsVolume = desired.some((x) => x.kind === "Volume" && x.request.nodeId);
        const [services, secrets, volumes, nodes] = await Promise.all([
          has("Service") ? c.services.list().then((r) => r.services) : [],
          has("Secret") ? c.secrets.list().then((r) => r.secrets) : [],
          has("Volume") ? c.volumes.list().then((r) => r.volumes) : [],
          pinsVolume ? c.nodes.list().then((r) => r.nodes) : [],
        ]);
        // Secret data is never read back: the manager compares it (a dry-run update that
        // leaves equal data alone), so apply updates exactly the secrets whose data changed.
        const secretDataChanged = new Set<string>();
        await Promise.all(desired.map(async (want) => {
          const have = want.kind === "Secret" && secrets.find((x) => x.name === want.name);
          if (!have) return;
          const would = await c.secrets.update(have.id, {
            data: secretData.get(want.name)!,
            labels: have.labels,
            unlessSame: true,
            dryRun: true,
          });
          if (would.version !== have.version) secretDataChanged.add(want.name);
        }));
        const plan = planApply(
          { services, secrets, volumes, nodes, secretDataChanged },
          desired,
        );
        ctx.io.out(
          o.output === "table" ? formatPlan(plan) : renderObject(planSummary(plan), o.output),
        );
        if (plan.conflicts > 0) {
          throw new ExitCode(
            1,
            [
              ...plan.items.filter((i) => i.action === "conflict").map((i) =>
                `error: ${i.kind.toLowerCase()} ${i.name}: ${i.reason}`
              ),
              `error: ${plan.conflicts} object(s) cannot be applied; nothing was changed`,
            ].join("\n"),
          );
        }
        if (o.plan) throw new ExitCode(plan.changes > 0 ? 2 : 0);
        // The plan checked every write against the state read above. A change in between (a
        // secret deleted, a port taken by someone else) can still make the manager refuse a
        // write midway; then the error says what was applied before it.
        const applied: string[] = [];
        for (const item of plan.items) {
          const want = item.desired;
          try {
            if (item.action === "create") {
              if (want.kind === "Service") await c.services.create(want.spec);
              else if (want.kind === "Volume") await c.volumes.create(want.request);
              else {await c.secrets.create({
                  name: want.name,
                  data: secretData.get(want.name)!,
                  labels: want.labels,
                });}
            } else if (item.action === "update" && want.kind === "Service") {
              await c.services.update(item.id!, want.spec, {
                expectedSpecVersion: item.specVersion,
                expectedRevision: item.revision,
              });
            } else if (item.action === "update" && want.kind === "Secret") {
              await c.secrets.update(item.id!, {
                data: secretData.get(want.name)!,
                labels: want.labels,
                unlessSame: true,
              });
            } else continue;
          } catch (err) {
            const failed = `error: ${item.kind.toLowerCase()} ${item.name}: ${
              toWarrenError(err).message
            }`;
            throw new ExitCode(
              1,
              applied.length === 0 ? failed : `${failed}\nerror: stopped midway (did the ` +
                `cluster change since the plan?); applied before this error: ${applied.join(", ")}`,
            );
          }
          const done = `${item.kind.toLowerCase()} ${item.name}: ${item.action}d`;
          applied.push(done);
          ctx.io.err(done);
        }
      });
    });
}

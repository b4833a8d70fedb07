/**
 * `warren cluster info`, `warren cluster join-token worker|manager [--rotate]`, and autolock:
 * `cluster update --autolock true|false`, `cluster unlock-key [--rotate]`, `cluster unlock`. The daemon
 * commands add `cluster init` to this group (cli/daemon/).
 * @module
 */
import { Argument, type Command } from "commander";
import type { ClusterInfo, NodeRole, UnlockKey } from "../../proto/schema/mod.ts";
import { ValidationError } from "../../proto/errors.ts";
import { renderKeyValues, renderObject } from "../output/format.ts";
import { formatAgo } from "../output/human.ts";
import {
  addClientFlags,
  type CliContext,
  type ClientFlags,
  defaultContext,
  withClient,
} from "./_context.ts";
import { commandGroup } from "./_group.ts";
import type { WarrenClient } from "../../net/client/client.ts";

/** Key-value lines of `cluster info` in table mode. */
export function clusterInfoLines(info: ClusterInfo, nowMs: number): string {
  return renderKeyValues([
    ["ID", info.id],
    ["Name", info.name],
    ["Created", `${new Date(info.createdAt).toISOString()} (${formatAgo(info.createdAt, nowMs)})`],
    ["Version", info.version],
    ["Managers", String(info.managers)],
    ["Workers", String(info.workers)],
    ["Raft leader", info.raft.leaderId ?? "(none)"],
    ["Raft term", String(info.raft.term)],
    ["Raft index", String(info.raft.index)],
    ["Cluster CIDR", info.cidrs.clusterCidr],
    ["Service CIDR", info.cidrs.serviceCidr],
    ["Node subnet", `/${info.cidrs.nodeSubnetBits}`],
    ["Autolock", info.autolock ? (info.locked ? "on (this manager is LOCKED)" : "on") : "off"],
    ["Feature level", String(info.featureLevel)],
    // An upgrade's progress: the level rises once every manager's binary has the next one.
    [
      "Manager binaries",
      info.managerFeatureLevels.map((m) =>
        `${m.hostname ? `${m.hostname} (${m.nodeId})` : m.nodeId} at level ${
          m.featureLevel ?? "unknown"
        }`
      ).join(", ") || "(none known)",
    ],
  ]);
}

/** The `cluster` command group. */
export function clusterCommand(ctx: CliContext = defaultContext()): Command {
  const group = commandGroup("cluster", "inspect the cluster and manage join tokens");
  addClientFlags(
    group.command("info").description("show cluster identity, Raft position and counts"),
  )
    .option("--stale", "let any manager answer from its local copy")
    .action(async (o: ClientFlags & { stale?: boolean }) => {
      const info = await withClient(ctx, o, (c) => c.cluster.info({ stale: o.stale }));
      ctx.io.out(
        o.output === "table" ? clusterInfoLines(info, ctx.now()) : renderObject(info, o.output),
      );
    });
  addClientFlags(
    group.command("join-token").description("print (or rotate) the token that admits new nodes"),
    { quiet: true },
  )
    .addArgument(new Argument("<role>", "worker or manager").choices(["worker", "manager"]))
    .option("--rotate", "replace the token first; the old one stops working")
    .action(async (role: NodeRole, o: ClientFlags & { rotate?: boolean }) => {
      const { token, managers } = await withClient(ctx, o, async (c) => ({
        token: await c.cluster.joinToken(role, o.rotate),
        managers: await managerApiAddresses(c).catch(() => [...c.managers]),
      }));
      if (o.quiet) ctx.io.out(token.token);
      else if (o.output !== "table") ctx.io.out(renderObject(token, o.output));
      else {
        ctx.io.out(
          [
            `${o.rotate ? "Rotated the join token" : "Join token"} for ${role}s:`,
            "",
            `    ${token.token}`,
            "",
            `To add a ${role} to this cluster, run on the new node:`,
            "",
            `    warren join ${managers[0]} --token ${token.token}`,
            ...(managers.length > 1 ? ["", `(any manager will do: ${managers.join(", ")})`] : []),
          ].join("\n"),
        );
      }
    });
  addClientFlags(
    group.command("update").description("change cluster-wide settings"),
    { quiet: true },
  )
    .requiredOption(
      // Swarm's spelling: `docker swarm update --autolock=true|false`.
      "--autolock <true|false>",
      "true: managers keep the cluster key on disk only under an unlock key; false: plain",
    )
    .action(async (o: ClientFlags & { autolock: string }) => {
      if (o.autolock !== "true" && o.autolock !== "false") {
        throw new ValidationError("--autolock", `must be true or false, got "${o.autolock}"`);
      }
      const key = await withClient(ctx, o, (c) => c.cluster.updateAutolock(o.autolock === "true"));
      printUnlockKey(ctx, o, key, "Autolock is on.");
    });
  addClientFlags(
    group.command("unlock-key").description("print (or rotate) the autolock unlock key"),
    { quiet: true },
  )
    .option("--rotate", "replace the key; running managers rewrap their key file with the new one")
    .action(async (o: ClientFlags & { rotate?: boolean }) => {
      const key = await withClient(
        ctx,
        o,
        (c) => o.rotate ? c.cluster.updateAutolock(true, true) : c.cluster.unlockKey(),
      );
      printUnlockKey(ctx, o, key, o.rotate ? "Rotated the unlock key." : "Unlock key:");
    });
  addClientFlags(
    group.command("unlock").description(
      "unlock a manager that restarted with autolock on (key from --key-file or stdin)",
    ),
  )
    .option("--key-file <file>", "read the unlock key from this file instead of stdin")
    .action(async (o: ClientFlags & { keyFile?: string }) => {
      const key = new TextDecoder().decode(
        o.keyFile ? await readKeyFile(o.keyFile) : await ctx.io.readStdin(),
      ).trim();
      if (!key) {
        throw new ValidationError("unlockKey", "is empty: pipe it on stdin or use --key-file");
      }
      const managers = await withClient(ctx, o, async (c) => {
        if (c.managers.length !== 1) {
          throw new ValidationError(
            "manager",
            `unlock acts on one manager: name it with --manager (configured: ${
              c.managers.join(", ")
            })`,
          );
        }
        await c.cluster.unlock(key);
        return c.managers;
      });
      ctx.io.out(`manager ${managers[0]} unlocked`);
    });
  return group;
}

/** The bytes of `--key-file`; a file that cannot be read is the flag's error, named so. */
async function readKeyFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new ValidationError("--key-file", `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function printUnlockKey(
  ctx: CliContext,
  o: ClientFlags,
  key: UnlockKey,
  heading: string,
): void {
  if (!key.autolock) ctx.io.out(o.quiet ? "" : "Autolock is off.");
  else if (o.quiet) ctx.io.out(key.unlockKey ?? "");
  else if (o.output !== "table") ctx.io.out(renderObject(key, o.output));
  else {
    ctx.io.out(
      [
        heading,
        "",
        `    ${key.unlockKey}`,
        "",
        "Keep it somewhere safe: a manager that restarts stays locked until",
        "'warren cluster unlock --manager ADDR' gets this key on stdin.",
      ].join("\n"),
    );
  }
}

/**
 * The API addresses the managers advertise, ready ones first: what a new node dials (the CLI's
 * own may be a loopback address).
 */
async function managerApiAddresses(c: WarrenClient): Promise<string[]> {
  const { nodes } = await c.nodes.list({ role: "manager" });
  const rank = (n: (typeof nodes)[number]) => n.status.state === "ready" ? 0 : 1;
  const out = nodes.filter((n) => n.addresses.api).sort((a, b) => rank(a) - rank(b))
    .map((n) => n.addresses.api!);
  if (out.length === 0) throw new Error("no manager advertises an API address");
  return out;
}

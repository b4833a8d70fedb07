/**
 * `warren cluster info` and `warren cluster join-token worker|manager [--rotate]`. The daemon
 * commands add `cluster init` to this group (cli/daemon/).
 * @module
 */
import { Argument, type Command } from "commander";
import type { ClusterInfo, NodeRole } from "../../proto/schema/mod.ts";
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
        managers: c.managers,
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
            `On the new node, run 'warren join' with this token and a manager address (${
              managers.join(", ")
            }).`,
          ].join("\n"),
        );
      }
    });
  return group;
}

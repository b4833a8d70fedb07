/**
 * `warren node ls|ps|inspect|update|rm`, and `promote|demote`, which explain how to change a role.
 * @module
 */
import { type Command, Option } from "commander";
import { isTerminal, NodeAvailabilitySchema, NodeRoleSchema } from "../../proto/schema/mod.ts";
import type { NodeAvailability, NodeRole } from "../../proto/schema/mod.ts";
import { renderList, renderObject } from "../output/format.ts";
import { nodeView, taskView } from "../output/views.ts";
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
import { FailedPreconditionError } from "../../proto/errors.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The `node` command group. */
export function nodeCommand(ctx: CliContext = defaultContext()): Command {
  const group = commandGroup("node", "list and manage nodes");
  addClientFlags(group.command("ls").alias("list").description("list nodes"), { quiet: true })
    .addOption(
      new Option("--role <role>", "only managers or workers").choices(NodeRoleSchema.options),
    )
    .action(async (o: ClientFlags & { role?: NodeRole }) => {
      const { nodes, leaderId } = await withClient(ctx, o, async (c) => {
        const [list, info] = await Promise.all([
          c.nodes.list({ role: o.role }),
          // The leader mark is a nicety: a failing info call must not fail the listing. Read
          // like the list (not stale): a manager cut off from the others still names the leader
          // it lost, or none, and the client fails over from it only for a read it cannot serve.
          c.cluster.info().catch(() => undefined),
        ]);
        return { nodes: list.nodes, leaderId: info?.raft.leaderId };
      });
      ctx.io.out(renderList(nodes, nodeView({ leaderId }), { format: o.output, quiet: o.quiet }));
    });
  addClientFlags(group.command("ps").description("list the tasks on a node"), { quiet: true })
    .argument("<node>", "node ID or host name")
    .option("--history", "include stopped tasks kept as history")
    .action(async (id: string, o: ClientFlags & { history?: boolean }) => {
      const { tasks, node, services } = await withClient(ctx, o, async (c) => {
        const node = await c.nodes.inspect(id);
        const [list, services] = await Promise.all([
          c.tasks.list({ nodeId: node.id, history: o.history }),
          c.services.list().catch(() => ({ services: [] })),
        ]);
        return {
          tasks: list.tasks,
          node,
          services: new Map(services.services.map((s) => [s.id, s.spec.name])),
        };
      });
      const sorted = [...tasks].sort((a, b) =>
        Number(isTerminal(a.status.state)) - Number(isTerminal(b.status.state)) ||
        (services.get(a.serviceId) ?? "").localeCompare(services.get(b.serviceId) ?? "") ||
        (a.slot ?? 0) - (b.slot ?? 0) ||
        b.status.timestamp - a.status.timestamp
      );
      const view = taskView(
        { service: (sid) => services.get(sid), node: () => node.hostname },
        ctx.now(),
      );
      ctx.io.out(renderList(sorted, view, { format: o.output, quiet: o.quiet }));
    });
  addInspectCommand(group, ctx, {
    description: "show nodes in detail",
    argument: "<node...>",
    argumentDescription: "node IDs or host names",
    inspect: (c, id) => c.nodes.inspect(id),
  });
  addClientFlags(
    group.command("update").description("change a node's availability or labels"),
  )
    .argument("<node>", "node ID or host name")
    .addOption(
      new Option("--availability <availability>", "active, pause or drain")
        .choices(NodeAvailabilitySchema.options),
    )
    .addOption(
      new Option(
        "--role <role>",
        "refused unless unchanged: a manager leaves with 'warren cluster leave' and rejoins with a worker token",
      ).choices(NodeRoleSchema.options),
    )
    .addOption(
      new Option("--label-add <k=v>", "add or change a label (repeatable)").argParser(collect),
    )
    .addOption(new Option("--label-rm <key>", "remove a label (repeatable)").argParser(collect))
    .action(async (
      id: string,
      o: ClientFlags & {
        availability?: NodeAvailability;
        role?: NodeRole;
        labelAdd?: string[];
        labelRm?: string[];
      },
    ) => {
      const labelsAdd = Object.fromEntries(
        (o.labelAdd ?? []).map((l) => parseKeyValue(l, "--label-add", { allowBare: true })),
      );
      const node = await withClient(ctx, o, (c) =>
        c.nodes.update(id, {
          availability: o.availability,
          role: o.role,
          labelsAdd,
          labelsRemove: o.labelRm ?? [],
        }));
      ctx.io.out(o.output === "table" ? node.id : renderObject(node, o.output));
    });
  addClientFlags(group.command("rm").alias("remove").description("remove nodes from the cluster"))
    .argument("<node...>", "node IDs or host names")
    .option(
      "-f, --force",
      "remove even if the node is not down; a manager that is down also leaves Raft (if the others keep a quorum)",
    )
    .action(async (ids: string[], o: ClientFlags & { force?: boolean }) => {
      await withClient(ctx, o, (c) =>
        forEachReporting(ctx, ids, async (id) => {
          await c.nodes.remove(id, { force: o.force });
          ctx.io.out(id);
        }));
    });
  // Swarm operators type these; without them commander answers "Did you mean remove?", and a
  // node removed by mistake loses its tasks. Warren changes no role in place: say how instead.
  for (const [verb, to] of [["promote", "manager"], ["demote", "worker"]] as const) {
    group.command(verb)
      .description(`not supported: ${ROLE_CHANGE_HOWTO[to]}`)
      .argument("<node...>", "node IDs or host names")
      .allowUnknownOption()
      .action(() => {
        throw new FailedPreconditionError(
          `warren cannot ${verb} a node in place (as 'docker node ${verb}' does): ${
            ROLE_CHANGE_HOWTO[to]
          }`,
        );
      });
  }
  return group;
}

/** How a node gets the other role: leave, then join again with that role's token. */
const ROLE_CHANGE_HOWTO = {
  manager:
    "on the node run 'warren cluster leave', then 'warren join MANAGER_ADDR --token' with a token from 'warren cluster join-token manager'",
  worker:
    "on the manager run 'warren cluster leave' (the other managers keep the quorum), then 'warren join MANAGER_ADDR --token' with a token from 'warren cluster join-token worker'",
} as const;

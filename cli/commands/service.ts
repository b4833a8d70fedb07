/**
 * `warren service create|ls|inspect|ps|update|scale|rm|rollback`. Flags are turned into a
 * ServiceSpec and validated before anything is sent (see _service_spec.ts).
 * @module
 */
import type { Command } from "commander";
import { isDeepStrictEqual } from "node:util";
import { ValidationError } from "../../proto/errors.ts";
import { serviceRevision, type ServiceSpecInput, type Task } from "../../proto/schema/mod.ts";
import { isTerminal } from "../../proto/schema/task_state.ts";
import { renderList, renderObject } from "../output/format.ts";
import { serviceView, taskView } from "../output/views.ts";
import {
  addClientFlags,
  type CliContext,
  type ClientFlags,
  defaultContext,
  withClient,
} from "./_context.ts";
import { commandGroup, forEachReporting } from "./_group.ts";
import { addInspectCommand } from "./_inspect.ts";
import {
  addServiceSpecFlags,
  applyServiceFlags,
  finishServiceSpec,
  type ServiceFlags,
} from "./_service_spec.ts";
import { parseIntFlag } from "./_units.ts";
import { addLogsExecCommands } from "./service_logs.ts";

/** `web=3` → ["web", 3]; throws naming the argument. */
export function parseScaleArg(text: string): [string, number] {
  const eq = text.lastIndexOf("=");
  if (eq <= 0) {
    throw new ValidationError("SERVICE=REPLICAS", `"${text}" must be SERVICE=REPLICAS, e.g. web=3`);
  }
  return [
    text.slice(0, eq),
    parseIntFlag(text.slice(eq + 1), `SERVICE=REPLICAS (${text})`, { min: 0, max: 10_000 }),
  ];
}

/** Per service ID: its tasks meant to run, and how many of them run. */
export function taskCounts(
  tasks: readonly Task[],
): Map<string, { running: number; desired: number }> {
  const counts = new Map<string, { running: number; desired: number }>();
  for (const t of tasks) {
    const c = counts.get(t.serviceId) ?? { running: 0, desired: 0 };
    if (t.desiredState !== "running") {
      counts.set(t.serviceId, c);
      continue;
    }
    // As Swarm's REPLICAS: a task told to stop that still runs (the old one of a start-first
    // update, a slot scaled away) is no longer one of the service's replicas.
    c.desired++;
    if (t.status.state === "running") c.running++;
    counts.set(t.serviceId, c);
  }
  return counts;
}

/** The `service` command group. */
export function serviceCommand(ctx: CliContext = defaultContext()): Command {
  const group = commandGroup("service", "create and manage services");

  const create = addClientFlags(group.command("create").description("create a service"))
    .argument("<name>", "service name (a DNS label)")
    .argument("[command...]", "command and arguments, after --, replacing the image's CMD");
  addServiceSpecFlags(create, { update: false }).action(
    async (name: string, args: string[], o: ClientFlags & ServiceFlags) => {
      const spec = finishServiceSpec(applyServiceFlags({ name } as ServiceSpecInput, o, args));
      const svc = await withClient(ctx, o, (c) => c.services.create(spec));
      ctx.io.out(o.output === "table" ? svc.id : renderObject(svc, o.output));
    },
  );

  addClientFlags(group.command("ls").alias("list").description("list services"), { quiet: true })
    .action(async (o: ClientFlags) => {
      const { services, counts } = await withClient(ctx, o, async (c) => {
        const [s, t] = await Promise.all([c.services.list(), o.quiet ? undefined : c.tasks.list()]);
        return { services: s.services, counts: taskCounts(t?.tasks ?? []) };
      });
      const rows = services.map((service) => ({
        service,
        ...(counts.get(service.id) ?? { running: 0, desired: 0 }),
      }));
      ctx.io.out(
        o.output === "table" || o.quiet
          ? renderList(rows, serviceView(), { format: "table", quiet: o.quiet })
          : renderObject(services, o.output),
      );
    });

  addInspectCommand(group, ctx, {
    description: "show services in detail",
    argument: "<service...>",
    argumentDescription: "service IDs or names",
    inspect: (c, id) => c.services.inspect(id),
  });

  addClientFlags(group.command("ps").description("list the tasks of a service"), { quiet: true })
    .argument("<service>", "service ID or name")
    .option("--history", "include stopped tasks kept as history")
    .action(async (id: string, o: ClientFlags & { history?: boolean }) => {
      const { tasks, serviceName, hostnames } = await withClient(ctx, o, async (c) => {
        const [svc, list, nodes] = await Promise.all([
          c.services.inspect(id),
          c.tasks.list({ serviceId: id, history: o.history }),
          c.nodes.list().catch(() => ({ nodes: [] })),
        ]);
        return {
          tasks: list.tasks,
          serviceName: svc.spec.name,
          hostnames: new Map(nodes.nodes.map((n) => [n.id, n.hostname])),
        };
      });
      const sorted = [...tasks].sort((a, b) =>
        (a.slot ?? 0) - (b.slot ?? 0) ||
        Number(isTerminal(a.status.state)) - Number(isTerminal(b.status.state)) ||
        b.status.timestamp - a.status.timestamp
      );
      const view = taskView(
        { service: () => serviceName, node: (n) => hostnames.get(n) },
        ctx.now(),
      );
      ctx.io.out(renderList(sorted, view, { format: o.output, quiet: o.quiet }));
    });

  const update = addClientFlags(
    group.command("update").description("change a service (only what the flags say)"),
  )
    .argument("<service>", "service ID or name")
    .argument("[command...]", "new command and arguments, after --")
    .option("--force", "replace every task, even if nothing changed or only the replicas did")
    .addHelpText(
      "after",
      "\nThe repeatable flags also take Swarm's spelling: --env-add, --publish-add, --label-add, ...",
    );
  addServiceSpecFlags(update, { update: true }).action(
    async (id: string, args: string[], o: ClientFlags & ServiceFlags & { force?: boolean }) => {
      await withClient(ctx, o, async (c) => {
        const current = await c.services.inspect(id);
        const spec = finishServiceSpec(applyServiceFlags(current.spec, o, args));
        if (!o.force && isDeepStrictEqual(spec, current.spec)) {
          ctx.io.err(`service ${current.spec.name}: no change`);
          ctx.io.out(o.output === "table" ? current.id : renderObject(current, o.output));
          return;
        }
        // Refused if anything wrote the spec in between, a scale included (its replicas would
        // otherwise be put back by the count read here).
        const svc = await c.services.update(current.id, spec, {
          expectedSpecVersion: current.specVersion,
          expectedRevision: serviceRevision(current),
          ...(o.force ? { force: true } : {}),
        });
        ctx.io.out(o.output === "table" ? svc.id : renderObject(svc, o.output));
      });
    },
  );

  addClientFlags(group.command("scale").description("set the replicas of services"))
    .argument("<service=replicas...>", "e.g. web=3 api=2")
    .action(async (pairs: string[], o: ClientFlags) => {
      const parsed = pairs.map(parseScaleArg); // all checked before anything is sent
      await withClient(ctx, o, (c) =>
        forEachReporting(ctx, parsed, async ([name, replicas]) => {
          await c.services.scale(name, replicas);
          ctx.io.out(`${name} scaled to ${replicas}`);
        }));
    });

  addClientFlags(group.command("rm").alias("remove").description("delete services"))
    .argument("<service...>", "service IDs or names")
    .action(async (ids: string[], o: ClientFlags) => {
      await withClient(ctx, o, (c) =>
        forEachReporting(ctx, ids, async (id) => {
          await c.services.delete(id);
          ctx.io.out(id);
        }));
    });

  addClientFlags(group.command("rollback").description("restore a service's previous spec"))
    .argument("<service>", "service ID or name")
    .action(async (id: string, o: ClientFlags) => {
      const svc = await withClient(ctx, o, (c) => c.services.rollback(id));
      ctx.io.out(o.output === "table" ? svc.id : renderObject(svc, o.output));
    });
  addLogsExecCommands(group, ctx);
  return group;
}

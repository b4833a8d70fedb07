import assert from "node:assert/strict";
import type { WarrenClient } from "../../net/client/client.ts";
import type { Service, ServiceSpec } from "../../proto/schema/mod.ts";
import { service } from "../../manager/state/_fixtures_test_util.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { serviceCommand, taskCounts } from "./service.ts";
import { task } from "../../manager/state/_fixtures_test_util.ts";

/** Runs `service ARGS` against one service `web`; returns the update calls it made. */
async function run(args: string[]) {
  const web: Service = service("web");
  const updates: { spec: ServiceSpec; opts: Record<string, unknown> }[] = [];
  const client = {
    services: {
      inspect: () => Promise.resolve(web),
      update: (_id: string, spec: ServiceSpec, opts: Record<string, unknown>) => {
        updates.push({ spec, opts });
        return Promise.resolve({ ...web, spec });
      },
    },
    close() {},
  } as unknown as WarrenClient;
  const out: string[] = [];
  const err: string[] = [];
  await serviceCommand(testCliContext(client, out, err)).parseAsync(
    [...args, "--manager", "127.0.0.1:1"],
    { from: "user" },
  );
  return { web, updates, err };
}

Deno.test("service update: nothing to change sends nothing; --force replaces the tasks anyway", async () => {
  const same = await run(["update", "web"]);
  assert.deepEqual(same.updates, []);
  assert.deepEqual(same.err, ["service web: no change"]);
  const forced = await run(["update", "web", "--force"]);
  assert.equal(forced.updates.length, 1);
  assert.deepEqual(forced.updates[0]!.spec, forced.web.spec);
  assert.equal(forced.updates[0]!.opts.force, true);
});

Deno.test("service ls counts as replicas only tasks meant to run: not an old one still stopping", () => {
  const running = (id: string, desiredState: "running" | "shutdown") => {
    const t = task(id, "web", 1);
    return { ...t, desiredState, status: { ...t.status, state: "running" as const } };
  };
  const pending = task("p", "web", 3);
  const counts = taskCounts([
    running("new", "running"),
    running("old", "shutdown"), // start-first: the replaced task, stopping
    { ...running("db1", "running"), serviceId: "db" },
    pending,
  ]);
  assert.deepEqual(counts.get("web"), { running: 1, desired: 2 }); // the pending one is meant to run
  assert.deepEqual(counts.get("db"), { running: 1, desired: 1 });
});

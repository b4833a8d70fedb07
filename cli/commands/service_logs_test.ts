import assert from "node:assert/strict";
import type { TaskLogsMessage } from "../../proto/schema/mod.ts";
import type { CliContext } from "./_context.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { serviceCommand } from "./service.ts";
import { Command } from "commander";
import { startTestManager } from "../../worker/_test_manager.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { NotFoundError } from "../../proto/errors.ts";
import { configureLogging } from "../../proto/log.ts";

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);

/** A cluster whose service "web" has one task that wrote a line on each stream. */
function logsContext(out: string[], err: string[]): CliContext {
  const messages: TaskLogsMessage[] = [{
    taskId: "t1",
    taskName: "web.1",
    nodeName: "node-a",
    lines: [
      { stream: "stdout", line: "hello", timestamp: T0 },
      { stream: "stderr", line: "oops", timestamp: T0 + 1 },
    ],
    notices: [],
  }];
  const client = {
    services: { inspect: () => Promise.resolve({ id: "s1", spec: { name: "web" } }) },
    tasks: {
      logs: async function* () {
        yield* messages;
      },
    },
    close() {},
  } as unknown as WarrenClient;
  return testCliContext(client, out, err, T0);
}

async function logs(args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  await serviceCommand(logsContext(out, err)).parseAsync(
    ["logs", "web", ...args, "--manager", "127.0.0.1:1"],
    { from: "user" },
  );
  return { out, err };
}

Deno.test("service logs: lines prefixed task@node, stderr lines on stderr", async () => {
  assert.deepEqual(await logs([]), { out: ["web.1@node-a | hello"], err: ["web.1@node-a | oops"] });
});

Deno.test("service logs -o json: one JSON object per line, every stream on stdout", async () => {
  const { out, err } = await logs(["-o", "json"]);
  assert.deepEqual(err, []);
  assert.deepEqual(out.map((l) => JSON.parse(l)), [
    {
      task: "web.1",
      taskId: "t1",
      node: "node-a",
      stream: "stdout",
      timestamp: T0,
      message: "hello",
    },
    {
      task: "web.1",
      taskId: "t1",
      node: "node-a",
      stream: "stderr",
      timestamp: T0 + 1,
      message: "oops",
    },
  ]);
});

Deno.test("service logs -o yaml: one YAML document per line", async () => {
  const { out } = await logs(["-o", "yaml"]);
  assert.equal(out.length, 2);
  assert.match(out[0]!, /^---\ntask: web\.1\n(.*\n)*message: hello$/);
  assert.match(out[1]!, /^---\n(.*\n)*stream: stderr\n(.*\n)*message: oops$/);
});

configureLogging({ level: "error" });

/** Runs `warren service ARGS` in process against `manager`. */
async function serviceAgainst(manager: string, args: string[]): Promise<void> {
  const ctx = testCliContext((managers) => new WarrenClient({ managers: [...managers] }));
  const program = new Command("warren").exitOverride().addCommand(serviceCommand(ctx));
  await program.parseAsync(["service", ...args, "--manager", manager], { from: "user" });
}

Deno.test("service logs: a name that is neither a service nor a task says so", async () => {
  await using m = await startTestManager();
  await assert.rejects(
    () => serviceAgainst(m.apiAddress, ["logs", "nosuchsvc"]),
    (e: unknown) =>
      e instanceof NotFoundError && e.message === 'service or task "nosuchsvc" not found',
  );
});

Deno.test("service exec: -o is not offered (the output is the command's own)", async () => {
  const cmd = serviceCommand(logsContext([], [])).exitOverride();
  for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: () => {} });
  await assert.rejects(
    cmd.parseAsync(["exec", "web.1", "-o", "json", "--", "ls"], { from: "user" }),
    (err: unknown) => (err as { code?: string }).code === "commander.unknownOption",
  );
});

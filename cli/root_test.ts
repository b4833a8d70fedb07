import assert from "node:assert/strict";
import { Command } from "commander";
import type { WarrenClient } from "../net/client/client.ts";
import { ValidationError } from "../proto/errors.ts";
import { testCliContext } from "./commands/_cli_context_test_util.ts";
import { serviceCommand } from "./commands/service.ts";
import { rootCommand } from "./root.ts";

/** Runs `warren ARGS` (the root and `service`); returns the managers each connect was for. */
async function managersFor(args: string[], env: Record<string, string> = {}): Promise<string[][]> {
  const seen: string[][] = [];
  const ctx = testCliContext((managers) => {
    seen.push([...managers]);
    return {
      services: { list: () => Promise.resolve({ services: [], index: 0 }) },
      tasks: { list: () => Promise.resolve({ tasks: [] }) },
      close() {},
    } as unknown as WarrenClient;
  });
  ctx.env = (name) => env[name];
  const program = rootCommand().addCommand(serviceCommand(ctx));
  await program.parseAsync(args, { from: "user" });
  return seen;
}

Deno.test("root --manager: before the command it works as the command's own", async () => {
  assert.deepEqual(await managersFor(["--manager", "10.0.0.1:1", "service", "ls"]), [[
    "10.0.0.1:1",
  ]]);
  assert.deepEqual(
    await managersFor([
      "--manager",
      "10.0.0.1:1,10.0.0.2:1",
      "--manager",
      "10.0.0.3:1",
      "service",
      "ls",
    ]),
    [["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]],
  );
  // The command's own flag is the more specific: it wins (an alias `warren --manager prod`).
  assert.deepEqual(
    await managersFor(["--manager", "10.0.0.1:1", "service", "ls", "--manager", "10.0.0.2:1"]),
    [["10.0.0.2:1"]],
  );
  // A flag still beats WARREN_MANAGER, which still works without one.
  const env = { WARREN_MANAGER: "10.0.0.9:1" };
  assert.deepEqual(await managersFor(["--manager", "10.0.0.1:1", "service", "ls"], env), [[
    "10.0.0.1:1",
  ]]);
  assert.deepEqual(await managersFor(["service", "ls"], env), [["10.0.0.9:1"]]);
});

Deno.test("root --manager: an empty value is an error naming the flag, wherever it stands", async () => {
  for (
    const args of [
      ["--manager", "", "service", "ls"],
      ["service", "ls", "--manager", ""],
      ["--manager", "10.0.0.1:1", "service", "ls", "--manager", ""],
    ]
  ) {
    await assert.rejects(
      managersFor(args, { WARREN_MANAGER: "10.0.0.9:1" }),
      (err: unknown) => err instanceof ValidationError && err.field === "--manager",
      args.join(" "),
    );
  }
});

Deno.test("root --manager: parsed by the command's own option; ignored by a command without one", async () => {
  /** The `--manager` value `cmd` sees for `warren --manager A --manager B cmd`. */
  const seen = async (option?: (cmd: Command) => Command) => {
    let value: unknown = "not run";
    const cmd = new Command("cmd").action((o: { manager?: unknown }) => {
      value = o.manager;
    });
    await rootCommand().addCommand(option ? option(cmd) : cmd).parseAsync(
      ["--manager", "10.0.0.1:1", "--manager", "10.0.0.2:1", "cmd"],
      { from: "user" },
    );
    return value;
  };
  // One address (`cluster leave --manager`): the last, as `cmd --manager A --manager B` gives.
  assert.equal(await seen((c) => c.option("--manager <host:port>")), "10.0.0.2:1");
  // A list with a default (`worker start --manager`): every value.
  assert.deepEqual(
    await seen((c) =>
      c.option("--manager <host:port>", "", (v: string, acc: string[]) => [...acc, v], [])
    ),
    ["10.0.0.1:1", "10.0.0.2:1"],
  );
  assert.equal(await seen(), undefined);
  // Checked even where unused: a mistyped flag is never silently dropped.
  await assert.rejects(
    rootCommand().addCommand(new Command("none").action(() => {})).parseAsync(
      ["--manager", "", "none"],
      { from: "user" },
    ),
    ValidationError,
  );
});

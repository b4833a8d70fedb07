import assert from "node:assert/strict";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { WarrenClient } from "../../net/client/client.ts";
import { NotFoundError, UnavailableError, WarrenError } from "../../proto/errors.ts";
import { ExitCode } from "../exit_code.ts";
import type { CliContext } from "./_context.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { nodeCommand } from "./node.ts";
import { secretCommand } from "./secret.ts";
import { serviceCommand } from "./service.ts";
import { volumeCommand } from "./volume.ts";

/** Each group with `inspect`. */
const GROUPS: [string, (ctx: CliContext) => Command][] = [
  ["service", serviceCommand],
  ["node", nodeCommand],
  ["secret", secretCommand],
  ["volume", volumeCommand],
];

/**
 * A cluster holding `web` and `db` of every kind, whose manager fails when asked for `down`;
 * output lines collected in `out`/`err`.
 */
function inspectContext(kind: string, out: string[], err: string[]): CliContext {
  const inspect = (id: string) =>
    ["web", "db"].includes(id)
      ? Promise.resolve({ id: `${id}-id`, name: id })
      : id === "down"
      ? Promise.reject(new UnavailableError("no manager answered"))
      : Promise.reject(new NotFoundError(kind, id));
  const collection = { inspect };
  const client = {
    services: collection,
    nodes: collection,
    secrets: collection,
    volumes: collection,
    close() {},
  } as unknown as WarrenClient;
  return testCliContext(client, out, err);
}

/** Runs `KIND inspect ARGS`; returns stdout, stderr and what it threw. */
async function inspect(
  kind: string,
  group: (ctx: CliContext) => Command,
  args: string[],
): Promise<{ out: string; err: string[]; error?: unknown }> {
  const out: string[] = [];
  const err: string[] = [];
  const cmd = group(inspectContext(kind, out, err));
  // Commander prints usage errors itself; keep test output clean.
  cmd.configureOutput({ writeErr: (s) => void err.push(s.trimEnd()), writeOut: () => {} });
  for (const sub of cmd.commands) sub.configureOutput(cmd.configureOutput());
  try {
    await cmd.parseAsync(["inspect", ...args, "--manager", "127.0.0.1:1"], { from: "user" });
    return { out: out.join("\n"), err };
  } catch (error) {
    return { out: out.join("\n"), err, error };
  }
}

for (const [kind, group] of GROUPS) {
  Deno.test(`${kind} inspect: help says JSON is the default; -o offers json and yaml`, () => {
    const cmd = group(inspectContext(kind, [], [])).commands.find((c) => c.name() === "inspect")!;
    const output = cmd.options.find((o) => o.long === "--output")!;
    assert.equal(output.defaultValue, "json");
    assert.deepEqual(output.argChoices, ["json", "yaml"]);
    assert.match(cmd.helpInformation(), /choices: "json", "yaml", default:\s+"json"/);
  });

  Deno.test(`${kind} inspect: JSON without -o, YAML with -o yaml, no table`, async () => {
    const json = await inspect(kind, group, ["web"]);
    assert.equal(json.error, undefined);
    assert.deepEqual(JSON.parse(json.out), [{ id: "web-id", name: "web" }]);
    const yaml = await inspect(kind, group, ["web", "-o", "yaml"]);
    assert.deepEqual(parseYaml(yaml.out), [{ id: "web-id", name: "web" }]);
    const table = await inspect(kind, group, ["web", "-o", "table"]);
    assert.equal((table.error as { exitCode?: number }).exitCode, 1, String(table.error));
    assert.match(table.err.join("\n"), /Allowed choices are json, yaml/);
  });

  Deno.test(`${kind} inspect: an array for one name as for several, in the order asked`, async () => {
    for (const format of ["json", "yaml"]) {
      const one = await inspect(kind, group, ["db", "-o", format]);
      assert.deepEqual(parseYaml(one.out), [{ id: "db-id", name: "db" }], format);
      const two = await inspect(kind, group, ["db", "web", "-o", format]);
      assert.deepEqual(parseYaml(two.out), [
        { id: "db-id", name: "db" },
        { id: "web-id", name: "web" },
      ], format);
    }
  });

  Deno.test(`${kind} inspect: prints what it found, reports each missing name, exits 1`, async () => {
    const r = await inspect(kind, group, ["web", "nosuch", "db", "gone"]);
    assert.ok(r.error instanceof ExitCode && r.error.code === 1, String(r.error));
    assert.deepEqual(JSON.parse(r.out), [
      { id: "web-id", name: "web" },
      { id: "db-id", name: "db" },
    ]);
    assert.deepEqual(r.err, [
      `error: ${kind} "nosuch" not found`,
      `error: ${kind} "gone" not found`,
    ]);
    const none = await inspect(kind, group, ["nosuch"]);
    assert.ok(none.error instanceof ExitCode && none.error.code === 1, String(none.error));
    assert.deepEqual(JSON.parse(none.out), []);
    assert.deepEqual(none.err, [`error: ${kind} "nosuch" not found`]);
  });

  Deno.test(`${kind} inspect: a failure that is not about a name fails the whole command`, async () => {
    const r = await inspect(kind, group, ["web", "down", "nosuch"]);
    assert.ok(r.error instanceof WarrenError && r.error.code === "unavailable", String(r.error));
    assert.equal(r.out, "");
    assert.deepEqual(r.err, []);
  });
}

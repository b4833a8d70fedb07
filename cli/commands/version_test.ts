import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { parse as parseYaml } from "yaml";
import { VERSION } from "../../proto/version.ts";
import { versionCommand } from "./version.ts";

/** Runs `version ARGS`, returning what it printed. */
async function version(args: string[]): Promise<string> {
  const out: string[] = [];
  const cmd = versionCommand({
    io: { out: (t) => void out.push(t), err: () => {}, readStdin: () => Promise.reject() },
  }).configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await cmd.parseAsync(args, { from: "user" });
  return out.join("\n");
}

Deno.test("version: one text line by default; -o json and -o yaml give the same fields", async () => {
  assert.match(await version([]), new RegExp(`^warren ${VERSION} \\(deno `));
  const json = JSON.parse(await version(["-o", "json"]));
  assert.equal(json.version, VERSION);
  assert.deepEqual(parseYaml(await version(["-o", "yaml"])), json);
});

Deno.test("version: an unknown -o format is refused, not printed as text", async () => {
  await assert.rejects(
    () => version(["-o", "bogus"]),
    (e: unknown) => e instanceof CommanderError && e.code === "commander.invalidArgument",
  );
});

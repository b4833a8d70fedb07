import assert from "node:assert/strict";
import { join } from "node:path";
import type { WarrenClient } from "../../net/client/client.ts";
import { ValidationError } from "../../proto/errors.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { secretCommand } from "./secret.ts";

/** Runs `secret ARGS` with `stdin`; returns the data each create call sent, as text. */
async function run(args: string[], stdin = ""): Promise<string[]> {
  const sent: string[] = [];
  const client = {
    secrets: {
      create: (req: { name: string; data: Uint8Array }) => {
        sent.push(new TextDecoder().decode(req.data));
        return Promise.resolve({ id: "s1", name: req.name, version: 1, labels: {}, createdAt: 0 });
      },
    },
    close() {},
  } as unknown as WarrenClient;
  const ctx = testCliContext(client);
  ctx.io.readStdin = () => Promise.resolve(new TextEncoder().encode(stdin));
  const cmd = secretCommand(ctx).exitOverride();
  for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: () => {} });
  await cmd.parseAsync([...args, "--manager", "127.0.0.1:1"], { from: "user" });
  return sent;
}

Deno.test("secret create NAME FILE reads the file, and FILE - reads stdin, as in Swarm", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "pw.txt");
    await Deno.writeTextFile(file, "from-file");
    assert.deepEqual(await run(["create", "db-pass", file]), ["from-file"]);
    assert.deepEqual(await run(["create", "db-pass", "-"], "from-stdin"), ["from-stdin"]);
    // The flags still work, and without any source the data comes from stdin.
    assert.deepEqual(await run(["create", "db-pass", "--from-file", file]), ["from-file"]);
    assert.deepEqual(await run(["create", "db-pass"], "piped"), ["piped"]);
    for (const flag of ["--from-file", "--from-literal"]) {
      await assert.rejects(
        run(["create", "db-pass", file, flag, file]),
        (err: unknown) =>
          err instanceof ValidationError && err.field === "FILE" &&
          err.message === `FILE: cannot be combined with ${flag}`,
      );
    }
    await assert.rejects(
      run(["create", "db-pass", join(dir, "missing")]),
      (err: unknown) =>
        err instanceof ValidationError && err.field === "FILE" &&
        /cannot read .*missing/.test(err.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

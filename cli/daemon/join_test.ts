import assert from "node:assert/strict";
import { buildDaemonProgram } from "./program.ts";
import { generateToken } from "../../manager/security/mod.ts";
import { ValidationError } from "../../proto/errors.ts";

/** Runs `warren join ARGS` in this process with a fresh data dir; resolves with what it threw. */
async function join(args: string[]): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "warren-join-" });
  const program = buildDaemonProgram();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(["join", ...args, "--data-dir", dir, "--log-level", "error"], {
      from: "user",
    });
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("join --manager-only is refused with a worker token, before any call", async () => {
  const err = await join([
    "127.0.0.1:1",
    "--token",
    generateToken({ caDigest: "ab".repeat(32), role: "worker" }),
    "--manager-only",
  ]);
  assert.ok(err instanceof ValidationError && err.field === "--manager-only", String(err));
  assert.match(err.message, /managers only: this node joins as a worker/);
});

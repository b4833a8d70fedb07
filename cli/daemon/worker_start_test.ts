import assert from "node:assert/strict";
import { buildDaemonProgram } from "./program.ts";
import { generateToken } from "../../manager/security/mod.ts";
import { ValidationError, WarrenError } from "../../proto/errors.ts";

/** Runs `warren worker start ARGS` in this process with a fresh data dir. */
async function workerStart(args: string[]): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "warren-ws-" });
  const program = buildDaemonProgram();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(
      ["worker", "start", ...args, "--data-dir", dir, "--log-level", "error"],
      { from: "user" },
    );
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const DIGEST = "ab".repeat(32);

/** A port nothing listens on (bound, read, closed). */
function freePortForTest(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("worker start: needs a manager, and a token to join a data dir that never joined", async () => {
  const none = await workerStart([]);
  assert.ok(none instanceof ValidationError && none.field === "MANAGER_ADDR", String(none));
  const noToken = await workerStart(["127.0.0.1:1"]);
  assert.ok(noToken instanceof ValidationError && noToken.field === "--token", String(noToken));
  assert.match(noToken.message, /is required to join/);
});

Deno.test("worker start MANAGER --token joins as 'join' does, with a worker token only", async () => {
  const manager = await workerStart([
    "127.0.0.1:1",
    "--token",
    generateToken({ caDigest: DIGEST, role: "manager" }),
  ]);
  assert.ok(manager instanceof ValidationError, String(manager));
  assert.match(manager.message, /manager token: 'worker start' joins with a worker token/);
  // A worker token goes to the manager to join: nobody listens here, so the join fails there.
  const port = freePortForTest();
  const worker = await workerStart([
    `127.0.0.1:${port}`,
    "--token",
    generateToken({ caDigest: DIGEST, role: "worker" }),
  ]);
  assert.ok(worker instanceof WarrenError && !(worker instanceof ValidationError), String(worker));
  assert.match(worker.message, new RegExp(`127\\.0\\.0\\.1:${port}|unavailable|refused`, "i"));
});

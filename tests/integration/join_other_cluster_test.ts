/**
 * `warren join` on a data directory that holds a node of one cluster, with a token of another,
 * is refused (as `docker swarm join` on a node already in a swarm): a manager's, as a worker's
 * was. Before, a manager's data directory ran its old cluster's manager and ignored the token.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cli,
  daemonFlags,
  kill,
  managerProc,
  runDaemonToExit,
  startDaemon,
} from "./_cluster_procs.ts";

Deno.test("join: a manager's data directory refuses another cluster's token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-other-" });
  const envA = { WARREN_CONFIG: join(dir, "a.json"), NO_COLOR: "1" };
  const envB = { WARREN_CONFIG: join(dir, "b.json"), NO_COLOR: "1" };
  const a = managerProc("a", dir);
  const b = managerProc("b", dir);
  try {
    await startDaemon(a, envA, ["cluster", "init", "--manager-only", ...daemonFlags(a)], /running/);
    await kill(a, "SIGTERM");
    await startDaemon(b, envB, ["cluster", "init", "--manager-only", ...daemonFlags(b)], /running/);
    const tok = await cli(envB, ["cluster", "join-token", "manager", "-q"]);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.split(/\s+/).find((w) => w.startsWith("WRN1-"))!;
    const r = await runDaemonToExit(envA, [
      "join",
      b.api,
      "--token",
      token,
      "--manager-only",
      ...daemonFlags(a),
    ], 30_000);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`--token: is for another cluster than the one ${a.dataDir} belongs to`),
    );
  } finally {
    await kill(a);
    await kill(b);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/**
 * One daemon per data directory: a second `cluster init` or `join` on the data directory of a
 * running manager exits 1 at once, naming the running daemon, and the running one is untouched.
 * (Before, the second started as the same node on the same Raft log.)
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

Deno.test("data dir: a second daemon on a running manager's data directory is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-lockdir-" });
  const env = { WARREN_CONFIG: join(dir, "cli", "config.json"), NO_COLOR: "1" };
  const m1 = managerProc("m1", dir);
  // Its own ports, m1's data directory.
  const twin = { ...managerProc("twin", dir), dataDir: m1.dataDir };
  try {
    await startDaemon(
      m1,
      env,
      ["cluster", "init", "--manager-only", ...daemonFlags(m1)],
      /cluster \S+ running/,
    );
    const pid = m1.child!.pid;
    const refused =
      `error: another warren daemon (pid ${pid}) runs on the data directory ${m1.dataDir}: ` +
      "stop it first, or give this one its own --data-dir";
    const init = await runDaemonToExit(env, [
      "cluster",
      "init",
      "--manager-only",
      ...daemonFlags(twin),
    ], 30_000);
    assert.equal(init.code, 1, `${init.stdout}${init.stderr}`);
    assert.equal(init.stderr.trim().split("\n").at(-1), refused);
    const joined = await runDaemonToExit(env, [
      "join",
      m1.api,
      "--manager-only",
      ...daemonFlags(twin),
    ], 30_000);
    assert.equal(joined.code, 1, `${joined.stdout}${joined.stderr}`);
    assert.equal(joined.stderr.trim().split("\n").at(-1), refused);
    // The running manager still serves.
    const ls = await cli(env, ["service", "ls", "-q"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(m1.child?.pid, pid);
  } finally {
    await kill(m1);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

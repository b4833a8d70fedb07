/**
 * A manager removed from the cluster while it was down (`node rm --force` from another manager)
 * and then restarted on its old data directory, with the command it was first run with (`join`
 * or `cluster init`, as a service manager would), exits non-zero with one line saying it was
 * removed and what to run; following that line (`cluster leave`, then `join`) brings it back as
 * a new member. A manager that was only cut off for a while (stopped) or restarted and catching
 * up stays a member and keeps running.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cli,
  daemonFlags,
  gauge,
  kill,
  type ManagerProc,
  managerProc,
  restFetch,
  runDaemonToExit,
  startDaemon,
  until,
} from "./_cluster_procs.ts";
import { readIdentity } from "../../manager/identity.ts";

const RUNNING = /manager \S+ of cluster \S+ running/;

Deno.test("managers: a manager removed while down exits when restarted; one cut off or catching up stays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-removed-" });
  const configPath = join(dir, "cli", "config.json");
  const env = { WARREN_CONFIG: configPath, NO_COLOR: "1" };
  const [m1, m2, m3] = ["m1", "m2", "m3"].map((n) => managerProc(n, dir));
  const ms: ManagerProc[] = [m1, m2, m3];
  const initArgs = ["cluster", "init", "--manager-only", ...daemonFlags(m1)];
  let token = "";
  const joinArgs = (m: ManagerProc) => [
    "join",
    m1.api,
    "--token",
    token,
    "--manager-only",
    ...daemonFlags(m),
  ];
  const withLogs = (err: Error) =>
    new Error(
      `${err.message}\n${ms.map((m) => `--- ${m.name} log:\n${m.log.join("").slice(-3000)}`)}`,
    );
  const voters = (via: ManagerProc, n: number, what: string) =>
    until(async () => (await gauge(via, "warren_raft_voters")) === n, what, 90_000)
      .catch((err) => {
        throw withLogs(err);
      });
  const create = async (name: string, via: ManagerProc) => {
    const r = await cli(env, [
      "service",
      "create",
      name,
      "--image",
      "registry.local/a:1",
      "--manager",
      via.api,
    ]);
    assert.equal(r.code, 0, r.stderr);
  };
  const caughtUp = (m: ManagerProc, name: string) =>
    until(async () => {
      const r = await restFetch(m, `/v1/services/${name}?stale=true`);
      await r.body?.cancel();
      return r.status === 200;
    }, `${m.name} to catch up to ${name}`).catch((err) => {
      throw withLogs(err);
    });
  /** `node rm --force` through `via`, once the leader no longer hears from `m`. */
  const removeDown = async (m: ManagerProc, via: ManagerProc) => {
    const id = (await readIdentity(m.dataDir))!.nodeId;
    let out = "";
    await until(async () => {
      const r = await cli(env, ["node", "rm", "--force", id, "--manager", via.api]);
      out = r.stderr;
      return r.code === 0;
    }, `the leader to let go of ${m.name}`).catch((err) => {
      throw new Error(`${err.message}: ${out}`);
    });
    return id;
  };
  try {
    await startDaemon(m1, env, initArgs, /cluster \S+ running/);
    const clusterId = (await readIdentity(m1.dataDir))!.clusterId;
    const tok = await cli(env, ["cluster", "join-token", "manager", "-q"]);
    assert.equal(tok.code, 0, tok.stderr);
    token = tok.stdout.trim().split(/\s+/).find((w) => w.startsWith("WRN1-"))!;
    assert.ok(token, `no token in: ${tok.stdout}`);
    for (const [i, m] of [m2, m3].entries()) {
      await startDaemon(m, env, joinArgs(m), RUNNING);
      await voters(m1, i + 2, `${m.name} to become a voter`);
    }
    let m3Exited: string | undefined;
    m3.child!.status.then((s) => m3Exited = `exited with ${s.code}`);

    // Cut off: m3 frozen for several election timeouts while the others go on. It comes back
    // as a member and catches up (and must still run at the end of this test).
    m3.child!.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < 5; i++) await create(`cut-${i}`, m1);
    m3.child!.kill("SIGCONT");
    await caughtUp(m3, "cut-4");

    // Restarted behind: m2 down while the others go on, then restarted; it catches up.
    await kill(m2);
    for (let i = 0; i < 5; i++) await create(`behind-${i}`, m1);
    await startDaemon(m2, env, joinArgs(m2), RUNNING);
    await caughtUp(m2, "behind-4");

    // Removed while down: restarted with the command it was first run with, m2 says so and
    // exits (it used to run on, outside the cluster, never ready).
    await kill(m2);
    const m2Id = await removeDown(m2, m1);
    await voters(m1, 2, "Raft to shrink to 2 voters");
    const rerun = await runDaemonToExit(env, joinArgs(m2));
    assert.equal(rerun.code, 1, `${rerun.stdout}${rerun.stderr}`);
    const line = rerun.stderr.trim().split("\n").at(-1)!;
    assert.match(
      line,
      new RegExp(
        `^error: this manager \\(node ${m2Id}\\) was removed from cluster ${clusterId} ` +
          `\\(manager \\S+ refuses it as a member\\) and stopped, with its tasks: run ` +
          `'warren cluster leave --data-dir ${m2.dataDir}' to clean up its data and this host, ` +
          `then 'warren join MANAGER_ADDR --token TOKEN' to join again$`,
      ),
    );

    // What that line says to do works: leave cleans up, join makes a new member.
    const left = await cli({ ...env, WARREN_CONFIG: join(dir, "none.json") }, [
      "cluster",
      "leave",
      "--data-dir",
      m2.dataDir,
    ]);
    assert.equal(left.code, 0, left.stderr);
    assert.match(left.stdout, new RegExp(`node ${m2Id} was no longer a member`));
    await startDaemon(m2, env, joinArgs(m2), RUNNING);
    assert.notEqual((await readIdentity(m2.dataDir))!.nodeId, m2Id);
    await voters(m1, 3, "the rejoined m2 to become a voter");

    // The first manager, removed while down and restarted with `cluster init`, exits likewise.
    await kill(m1);
    const m1Id = await removeDown(m1, m3);
    await voters(m3, 2, "Raft to shrink to 2 voters again");
    const reinit = await runDaemonToExit(env, initArgs);
    assert.equal(reinit.code, 1, `${reinit.stdout}${reinit.stderr}`);
    assert.match(
      reinit.stderr,
      new RegExp(`error: this manager \\(node ${m1Id}\\) was removed from cluster ${clusterId}`),
    );

    // The manager that was cut off never took itself for removed.
    await create("after", m3);
    assert.equal(m3Exited, undefined, m3.log.join("").slice(-3000));
  } finally {
    for (const m of ms) {
      m.child?.kill("SIGCONT");
      await kill(m);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

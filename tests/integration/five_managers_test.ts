/**
 * Five managers as separate processes: the cluster forms with join tokens (five voters), loses
 * two of them (the leader among them) and still accepts writes through any survivor, then
 * loses a third and refuses writes as unavailable (no quorum), and serves again once one of the
 * killed managers restarts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  adminClient,
  cli,
  daemonFlags,
  gauge,
  kill,
  type ManagerProc,
  managerProc,
  startDaemon,
  until,
} from "./_cluster_procs.ts";

Deno.test("managers: a 5-manager cluster keeps working with two down and stops safely at three", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-5m-" });
  const configPath = join(dir, "cli", "config.json");
  const env = { WARREN_CONFIG: configPath, NO_COLOR: "1" };
  const ms: ManagerProc[] = ["m1", "m2", "m3", "m4", "m5"].map((n) => managerProc(n, dir));
  const create = (name: string, via: ManagerProc) =>
    cli(env, ["service", "create", name, "--image", "registry.local/a:1", "--manager", via.api]);
  try {
    await startDaemon(
      ms[0]!,
      env,
      ["cluster", "init", "--manager-only", ...daemonFlags(ms[0]!)],
      /cluster \S+ running/,
    );
    const tok = await cli(env, ["cluster", "join-token", "manager", "-q"]);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();
    for (const [i, m] of ms.entries()) {
      if (i === 0) continue;
      await startDaemon(
        m,
        env,
        ["join", ms[0]!.api, "--token", token, "--manager-only", ...daemonFlags(m)],
        /manager \S+ of cluster \S+ running/,
      );
      await until(
        async () => (await gauge(ms[0]!, "warren_raft_voters")) >= i + 1,
        `${m.name} to become a voter`,
        90_000,
      );
    }
    assert.equal(await gauge(ms[0]!, "warren_raft_voters"), 5);

    // Two down, the leader among them: three of five is a quorum.
    using c = await adminClient(configPath, ms.map((m) => m.api));
    const leaderId = (await c.cluster.info()).raft.leaderId!;
    const leaderApi = (await c.nodes.inspect(leaderId)).addresses.api;
    const leader = ms.find((m) => m.api === leaderApi)!;
    const second = ms.find((m) => m !== leader)!;
    await kill(leader);
    await kill(second);
    const survivors = ms.filter((m) => m !== leader && m !== second);
    for (const [i, m] of survivors.entries()) {
      const r = await create(`after-two-${i}`, m);
      assert.equal(r.code, 0, `write through ${m.name}: ${r.stderr}`);
    }
    const listed = await cli(env, ["service", "ls", "-q", "--manager", survivors[2]!.api]);
    assert.equal(listed.stdout.trim().split("\n").length, 3);

    // A third down: two of five is no quorum; writes are refused, clearly.
    await kill(survivors[0]!);
    const left = survivors.slice(1);
    await until(async () => {
      for (const m of left) {
        if ((await (await fetch(`http://${m.http}/ready`)).json()).leader) return false;
      }
      return true;
    }, "the remaining two to lose their leader");
    const refused = await create("no-quorum", left[0]!);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no quorum: .*a majority \(3 of 5\)/);

    // One comes back: three of five again, and the refused write can be made.
    await startDaemon(
      leader,
      env,
      ["join", left[0]!.api, "--manager-only", ...daemonFlags(leader)],
      /manager \S+ of cluster \S+ running/,
    );
    // (A timed-out attempt may still have committed: then the retry finds the service.)
    await until(async () => {
      const r = await create("back", left[1]!);
      return r.code === 0 || /already exists/.test(r.stderr);
    }, "writes accepted again");
  } finally {
    for (const m of ms) await kill(m);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

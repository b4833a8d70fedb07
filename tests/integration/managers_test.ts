/**
 * Three managers as separate processes on loopback, formed with join tokens over mutual TLS:
 * writes through a follower, reads from another manager, the leader killed (-9) in the middle of
 * a stream of writes loses no acknowledged write, events read on a survivor across the leader
 * change resume from an index without gaps or duplicates, the killed manager catches up after
 * restart, the new leader issues a certificate to a newly joining worker, a manager leaves, one
 * killed for good is removed from Raft with `node rm --force`, and without quorum a write is
 * refused as unavailable with a clear message.
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
  restFetch,
  startDaemon,
  until,
} from "./_cluster_procs.ts";
import { joinViaManager } from "../../cli/daemon/join_flow.ts";
import { verifyCert } from "../../manager/security/mod.ts";
import { VERSION } from "../../proto/version.ts";
import { readIdentity } from "../../manager/identity.ts";

Deno.test("managers: a 3-manager TLS cluster survives a leader kill without losing acknowledged writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-3m-" });
  const configPath = join(dir, "cli", "config.json");
  const env = { WARREN_CONFIG: configPath, NO_COLOR: "1" };
  const ms: ManagerProc[] = ["m1", "m2", "m3"].map((n) => managerProc(n, dir));
  try {
    await startDaemon(
      ms[0],
      env,
      ["cluster", "init", "--manager-only", ...daemonFlags(ms[0])],
      /cluster \S+ running/,
    );
    const tok = await cli(env, ["cluster", "join-token", "manager", "-q"]);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim().split(/\s+/).find((w) => w.startsWith("WRN1-"))!;
    assert.ok(token, `no token in: ${tok.stdout}`);
    for (const m of ms.slice(1)) {
      await startDaemon(
        m,
        env,
        ["join", ms[0].api, "--token", token, "--manager-only", ...daemonFlags(m)],
        /manager \S+ of cluster \S+ running/,
      );
      // A learner is promoted once caught up; on a loaded machine that can take a while. The
      // daemons' logs explain a failure.
      await until(
        async () => (await gauge(ms[0], "warren_raft_voters")) >= ms.indexOf(m) + 1,
        `${m.name} to become a voter`,
        90_000,
      ).catch((err) => {
        throw new Error(
          `${err.message}\n--- m1 log:\n${ms[0].log.join("")}\n--- ${m.name} log:\n${
            m.log.join("")
          }`,
        );
      });
    }
    assert.equal(await gauge(ms[0], "warren_raft_voters"), 3);

    // Create through a follower, read from another manager (linearizable by default).
    const created = await cli(env, [
      "service",
      "create",
      "web",
      "--image",
      "registry.local/web:1",
      "--replicas",
      "2",
      "--manager",
      ms[1].api,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const listed = await cli(env, ["service", "ls", "-o", "json", "--manager", ms[2].api]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes('"web"'));

    // Another admin's credentials: the key is made locally, the CA signs it.
    const issued = await cli(env, ["cert", "create", "ops", "--out-dir", join(dir, "ops")]);
    assert.equal(issued.code, 0, issued.stderr);
    const opsEnv = { NO_COLOR: "1", WARREN_CONFIG: join(dir, "ops", "config.json") };
    await Deno.writeTextFile(
      opsEnv.WARREN_CONFIG,
      JSON.stringify({
        managers: [ms[2].api],
        clusterId: "x",
        tls: {
          caFile: "ca.pem",
          certFile: "ops.pem",
          keyFile: "ops-key.pem",
          serverName: "warren-manager",
        },
      }),
    );
    const asOps = await cli(opsEnv, ["service", "ls", "-q"]);
    assert.equal(asOps.code, 0, asOps.stderr);

    // Kill the leader in the middle of a stream of writes.
    const managers = ms.map((m) => m.api);
    using c = await adminClient(configPath, managers);
    const info = await c.cluster.info();
    const leaderApi = (await c.nodes.inspect(info.raft.leaderId!)).addresses.api;
    const leader = ms.find((m) => m.api === leaderApi)!;
    assert.ok(leader, "leader known");
    const acked: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await c.services.create({ name: `w${i}`, image: "registry.local/w:1" });
          acked.push(`w${i}`);
        } catch { /* unknown outcome or no leader yet: not acknowledged */ }
      }
    })();
    await until(() => acked.length >= 10, "writes before the kill");
    await kill(leader);
    const killedAt = acked.length;
    await until(() => acked.length >= killedAt + 10, "writes acknowledged by a new leader", 30_000);
    stop = true;
    await writer;

    // The new leader admits a new worker with a certificate from the same CA.
    const wtok = (await c.cluster.joinToken("worker")).token;
    const survivor = ms.find((m) => m !== leader)!;
    const joined = await joinViaManager(survivor.api, wtok, {
      hostname: "edge-new",
      addresses: { advertise: "127.0.0.1" },
      resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
      platform: { os: "linux", arch: "arm64" },
      labels: {},
      version: VERSION,
    });
    const cert = await verifyCert(
      joined.response.certificatePem,
      joined.response.caCertificatePem,
      Date.now(),
    );
    assert.equal(cert.nodeId, joined.response.nodeId);
    assert.equal(cert.role, "worker");

    // Every acknowledged write is there; the killed manager restarts from disk and catches up.
    const names = new Set((await c.services.list()).services.map((s) => s.spec.name));
    for (const n of acked) assert.ok(names.has(n), `acknowledged write ${n} lost`);

    // Events from before the stream of writes, read on a survivor across the leader change:
    // every acknowledged create once, indexes increasing; resuming from the middle gives exactly
    // the same tail (no gap, no duplicate).
    using cs = await adminClient(configPath, [survivor.api]);
    const creates = async (fromIndex: number, untilIndex: number | undefined) => {
      const out: { index: number; name: string; action: string }[] = [];
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 30_000);
      try {
        for await (
          const e of cs.events.watch({ fromIndex, kinds: ["service"], signal: ac.signal })
        ) {
          if (e.kind !== "service") continue;
          out.push({ index: e.index, name: e.service.spec.name, action: e.action });
          const seen = new Set(out.map((x) => x.name));
          if (untilIndex !== undefined ? e.index >= untilIndex : acked.every((n) => seen.has(n))) {
            break;
          }
        }
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
      return out;
    };
    const all = await creates(info.raft.index + 1, undefined);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.index > all[i - 1]!.index, "ordered");
    for (const n of acked) {
      const n1 = all.filter((e) => e.name === n && e.action === "create").length;
      assert.equal(n1, 1, `create event of ${n} seen ${n1} times`);
    }
    const mid = all[Math.floor(all.length / 2)]!.index;
    const resumed = await creates(mid + 1, all[all.length - 1]!.index);
    assert.deepEqual(resumed, all.filter((e) => e.index > mid), "resumed stream = the tail");
    await startDaemon(
      leader,
      env,
      ["join", survivor.api, "--manager-only", ...daemonFlags(leader)],
      /manager \S+ of cluster \S+ running/,
    );
    const last = acked[acked.length - 1];
    await until(async () => {
      const r = await restFetch(leader, `/v1/services/${last}?stale=true`);
      await r.body?.cancel();
      return r.status === 200;
    }, "the restarted manager to catch up");

    // A manager's role does not change by a field, nor is it removed while a Raft member.
    const leavingId = (await readIdentity(ms.find((m) => m !== leader && m !== survivor)!.dataDir))!
      .nodeId;
    const demote = await cli(env, ["node", "update", leavingId, "--role", "worker"]);
    assert.equal(demote.code, 1);
    assert.match(demote.stderr, /changing a node's role is not supported/);
    const rm = await cli(env, ["node", "rm", leavingId]);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /is a manager and a member of Raft: run 'warren cluster leave' on it/);
    const rmRunning = await cli(env, ["node", "rm", "--force", leavingId]);
    assert.equal(rmRunning.code, 1, rmRunning.stdout);
    assert.match(rmRunning.stderr, /still hears from it|leader answering this request/);

    // A manager leaves: Raft shrinks to two voters, its daemon stops, the others go on. It finds
    // a manager to ask from what its daemon recorded (no --manager, no CLI config).
    const leaving = ms.find((m) => m !== leader && m !== survivor) ?? leader;
    const stayer = ms.find((m) => m !== leaving)!;
    const left = await cli({ ...env, WARREN_CONFIG: join(dir, "nonexistent.json") }, [
      "cluster",
      "leave",
      "--data-dir",
      leaving.dataDir,
    ]);
    assert.equal(left.code, 0, left.stderr);
    await leaving.child?.status;
    leaving.child = undefined;
    // The leaving manager may have been the leader: the other two elect a new one first.
    await until(
      async () => (await gauge(stayer, "warren_raft_voters")) === 2,
      "Raft to shrink to 2 voters",
      60_000,
    ).catch((err) => {
      throw new Error(
        `${err.message} (${stayer.name}: ${
          ms.map((m) => `${m.name} ${m === leaving ? "left" : "stays"}`).join(", ")
        }); leave said: ${left.stdout}${left.stderr}\n--- ${stayer.name} log:\n${
          stayer.log.join("").slice(-4000)
        }`,
      );
    });
    // The managers that stay drop the one that left from the CLI config (config_managers.ts).
    const configManagers = async () =>
      (JSON.parse(await Deno.readTextFile(configPath)) as { managers: string[] }).managers;
    await until(
      async () => !(await configManagers()).includes(leaving.api),
      "the CLI config to drop the manager that left",
    );
    assert.deepEqual(
      [...(await configManagers())].sort(),
      ms.filter((m) => m !== leaving).map((m) => m.api).sort(),
    );
    const after = await cli(env, [
      "service",
      "create",
      "after-leave",
      "--image",
      "registry.local/a:1",
      "--manager",
      stayer.api,
    ]);
    assert.equal(after.code, 0, after.stderr);

    // A manager gone for good: 'node rm --force' takes it out of Raft too, once the leader no
    // longer hears from it (asked through any manager: a follower hands the call over).
    const m4 = managerProc("m4", dir);
    ms.push(m4);
    await startDaemon(
      m4,
      env,
      ["join", stayer.api, "--token", token, "--manager-only", ...daemonFlags(m4)],
      /manager \S+ of cluster \S+ running/,
    );
    await until(
      async () => (await gauge(stayer, "warren_raft_voters")) === 3,
      "m4 to become a voter",
      90_000,
    );
    await until(
      async () => (await configManagers()).includes(m4.api),
      "the CLI config to list the manager that joined",
    );
    const m4Id = (await readIdentity(m4.dataDir))!.nodeId;
    await kill(m4);
    let rmOut = "";
    await until(async () => {
      const r = await cli(env, ["node", "rm", "--force", m4Id, "--manager", stayer.api]);
      rmOut = r.stderr;
      return r.code === 0;
    }, "the leader to let go of the killed manager").catch((err) => {
      throw new Error(`${err.message}: ${rmOut}`);
    });
    await until(
      async () => (await gauge(stayer, "warren_raft_voters")) === 2,
      "Raft to shrink to 2 voters again",
    );
    const nodes = JSON.parse(
      (await cli(env, ["node", "ls", "-o", "json", "--manager", stayer.api])).stdout,
    );
    assert.ok(!nodes.some((n: { id: string }) => n.id === m4Id), "m4's record is gone");
    await until(
      async () => !(await configManagers()).includes(m4.api),
      "the CLI config to drop the removed manager",
    );

    // No quorum: with one of the two voters gone, a write is refused as unavailable, clearly.
    await kill(ms.find((m) => m !== stayer && m !== leaving)!);
    await until(async () => {
      const r = await fetch(`http://${stayer.http}/ready`);
      return !(await r.json()).leader;
    }, "the last manager to lose its leader");
    const refused = await cli(env, [
      "service",
      "create",
      "no-quorum",
      "--image",
      "registry.local/a:1",
      "--manager",
      stayer.api,
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /no quorum: .*a majority \(2 of 2\) of the managers/);
  } finally {
    for (const m of ms) await kill(m);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

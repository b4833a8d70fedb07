/**
 * Autolock against a real manager process (`warren cluster init --manager-only --autolock`):
 * the daemon never prints the unlock key (`cluster unlock-key` does); cluster.key on disk is
 * locked; a restarted manager is locked
 * (secrets refused with a clear message) until `warren cluster unlock` gets the key on stdin; a
 * wrong key is refused; rotating rewraps the file; turning autolock off makes it plain again and
 * a restart needs no key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, daemonFlags, kill, managerProc, startDaemon } from "./_cluster_procs.ts";
import {
  deriveKekFromUnlockKey,
  generateUnlockKey,
  parseKekFile,
} from "../../manager/security/mod.ts";
import { joinViaManager } from "../../cli/daemon/join_flow.ts";
import { VERSION } from "../../proto/version.ts";

const KEY = /WRNKEY-[a-z2-7]{52}/;

Deno.test("autolock: locked after a restart until unlocked; rotate; off again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-autolock-" });
  const env = { WARREN_CONFIG: join(dir, "cli", "config.json"), NO_COLOR: "1" };
  const m = managerProc("m1", dir);
  const keyFile = join(m.dataDir, "cluster.key");
  const start = (extra: string[], marker: RegExp) =>
    startDaemon(
      m,
      env,
      ["cluster", "init", "--manager-only", ...extra, ...daemonFlags(m)],
      marker,
    );
  const ok = async (args: string[], stdin?: string) => {
    const r = await cli(env, [...args, "--manager", m.api], stdin);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    await start(["--autolock"], /autolock is on: print the unlock key/);
    const key = (await ok(["cluster", "unlock-key", "-q"])).trim();
    assert.match(key, KEY);
    assert.ok(!m.log.join("").includes(key), "the daemon never prints the key");
    assert.ok(parseKekFile(await Deno.readFile(keyFile)).locked, "cluster.key is locked");
    assert.match(await ok(["cluster", "info"]), /Autolock:\s+on\n/);
    await ok(["secret", "create", "s1", "--from-literal", "one"]);

    // Restart: locked. Key operations fail clearly, reads still work.
    await kill(m, "SIGTERM");
    m.log = [];
    await start([], /LOCKED/);
    assert.match(await ok(["cluster", "info"]), /this manager is LOCKED/);
    const refused = await cli(env, ["secret", "create", "s2", "--from-literal", "two"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /this manager is locked/);
    await ok(["secret", "ls"]);

    const wrong = await cli(env, ["cluster", "unlock", "--manager", m.api], generateUnlockKey());
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /not the unlock key/);
    const garbage = await cli(env, ["cluster", "unlock", "--manager", m.api], "hunter2\n");
    assert.notEqual(garbage.code, 0);
    assert.match(garbage.stderr, /unlockKey/);
    assert.match(await ok(["cluster", "unlock"], `${key}\n`), /unlocked/);
    await ok(["secret", "create", "s2", "--from-literal", "two"]);
    const again = await cli(env, ["cluster", "unlock", "--manager", m.api], key);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /not locked/);

    // Rotate: the file is rewrapped under the new key.
    const before = parseKekFile(await Deno.readFile(keyFile));
    const rotated = (await ok(["cluster", "unlock-key", "--rotate", "-q"])).trim();
    assert.match(rotated, KEY);
    assert.notEqual(rotated, key);
    const rewrapped = async () => {
      const f = parseKekFile(await Deno.readFile(keyFile));
      return f.locked && before.locked && f.unlockKekId !== before.unlockKekId;
    };
    for (let i = 0; i < 100 && !(await rewrapped()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(await rewrapped(), "cluster.key rewrapped with the rotated key");

    // Off: plain again, and a restart needs nothing.
    assert.match(await ok(["cluster", "update", "--autolock", "false"]), /Autolock is off/);
    for (let i = 0; i < 100 && (await Deno.readFile(keyFile)).length !== 32; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await Deno.readFile(keyFile)).length, 32);
    await kill(m, "SIGTERM");
    m.log = [];
    // The init flag left on the command line does not turn autolock back on.
    await start(["--autolock"], /cluster \S+ running/);
    assert.ok(!m.log.join("").includes("LOCKED"));
    assert.equal((await Deno.readFile(keyFile)).length, 32);
    assert.match(await ok(["cluster", "info"]), /Autolock:\s+off\n/);
    await ok(["secret", "create", "s3", "--from-literal", "three"]);
    const bad = await cli(env, ["cluster", "update", "--autolock", "maybe", "--manager", m.api]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /autolock: must be true or false/);
  } finally {
    await kill(m, "SIGTERM").catch(() => kill(m));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("autolock: a manager joining a locked cluster writes its cluster.key locked from the start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-autolock-join-" });
  const env = { WARREN_CONFIG: join(dir, "cli", "config.json"), NO_COLOR: "1" };
  const [m1, m2] = [managerProc("m1", dir), managerProc("m2", dir)];
  const ok = async (args: string[]) => {
    const r = await cli(env, [...args, "--manager", m1.api]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  try {
    await startDaemon(
      m1,
      env,
      ["cluster", "init", "--manager-only", "--autolock", ...daemonFlags(m1)],
      /autolock is on/,
    );
    const key = await ok(["cluster", "unlock-key", "-q"]);
    const token = (role: string) => ok(["cluster", "join-token", role, "-q"]);
    // The answer to a worker carries neither key.
    const worker = await joinViaManager(m1.api, await token("worker"), {
      hostname: "probe",
      addresses: { advertise: "127.0.0.1" },
      resources: { nanoCpus: 1e9, memoryBytes: 2 ** 30 },
      platform: { os: "linux", arch: "amd64" },
      labels: {},
      version: VERSION,
    });
    assert.equal(worker.response.clusterKey, undefined);
    assert.equal(worker.response.unlockKey, undefined);

    // A real manager joins: its cluster.key is locked under the cluster's unlock key from the
    // first write, and it serves key operations without being unlocked.
    await startDaemon(
      m2,
      env,
      ["join", m1.api, "--token", await token("manager"), "--manager-only", ...daemonFlags(m2)],
      /manager \S+ of cluster \S+ running/,
    );
    const file = parseKekFile(await Deno.readFile(join(m2.dataDir, "cluster.key")));
    assert.ok(file.locked, "m2's cluster.key is locked");
    assert.equal(file.unlockKekId, (await deriveKekFromUnlockKey(key)).kekId);
    const viaM2 = await cli(env, [
      "secret",
      "create",
      "s1",
      "--from-literal",
      "one",
      "--manager",
      m2.api,
    ]);
    assert.equal(viaM2.code, 0, viaM2.stderr);
  } finally {
    for (const m of [m2, m1]) await kill(m, "SIGTERM").catch(() => kill(m));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

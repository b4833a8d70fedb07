import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { ContainerdClient } from "./client.ts";
import { ContainerdSupervisor } from "./supervisor.ts";

async function version(socket: string): Promise<string> {
  using client = new ContainerdClient({ socket });
  return await client.waitReady(10_000);
}

Deno.test({
  name: "supervisor: starts containerd, restarts it after a crash, stops it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-sup-" });
    const exits: number[] = [];
    let sup: ContainerdSupervisor | undefined;
    try {
      sup = await ContainerdSupervisor.start({
        dataDir,
        initialBackoffMs: 50,
        onExit: (e) => exits.push(e.code),
      });
      assert.match(await version(sup.socket), /^1\./);
      const first = sup.pid!;
      assert.equal(await Deno.readTextFile(`${sup.dir}/containerd.pid`), String(first));

      Deno.kill(first, "SIGKILL");
      const deadline = Date.now() + 20_000;
      while (sup.restarts < 1 || sup.pid === first) {
        assert.ok(Date.now() < deadline, "containerd was not restarted");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(await version(sup.socket), /^1\./);
      assert.equal(exits.length, 1);

      const second = sup.pid!;
      await sup.stop();
      await sup.stop(); // idempotent
      assert.throws(() => Deno.kill(second, "SIGCONT"), "containerd is gone");
      assert.equal(sup.restarts, 1, "a requested stop is not restarted");
    } finally {
      await sup?.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "supervisor: a containerd left by a crashed Warren is replaced",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-sup-" });
    let orphan: Deno.ChildProcess | undefined;
    let sup: ContainerdSupervisor | undefined;
    try {
      const dir = `${dataDir}/containerd`;
      await (await ContainerdSupervisor.start({ dataDir })).stop(); // leaves the config behind
      // What a crashed Warren leaves: a containerd running from our config, and its pid file.
      orphan = new Deno.Command("/usr/bin/containerd", {
        args: ["--config", `${dir}/config.toml`],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await Deno.writeTextFile(`${dir}/containerd.pid`, String(orphan.pid));
      await version(`${dir}/containerd.sock`);
      sup = await ContainerdSupervisor.start({ dataDir });
      assert.notEqual(sup.pid, orphan.pid);
      // It is our child here, so it stays a zombie until reaped: check that it has exited.
      const exited = await Promise.race([
        orphan.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 5_000)),
      ]);
      assert.ok(exited, "the leftover was stopped");
      assert.match(await version(sup.socket), /^1\./);
    } finally {
      await sup?.stop();
      try {
        orphan?.kill("SIGKILL");
      } catch { /* already gone */ }
      await orphan?.status;
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("supervisor: a data dir too long for unix sockets is refused", async () => {
  await assert.rejects(
    ContainerdSupervisor.start({ dataDir: `/tmp/${"x".repeat(100)}` }),
    ValidationError,
  );
});

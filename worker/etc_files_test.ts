import assert from "node:assert/strict";
import { join } from "node:path";
import { hostsFile, TaskEtcFiles } from "./etc_files.ts";

Deno.test("hostsFile: loopback names, then the task's address under its host name", () => {
  const text = hostsFile("web.1", "10.0.1.5");
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "127.0.0.1\tlocalhost");
  assert.equal(lines[1], "::1\tlocalhost ip6-localhost ip6-loopback");
  assert.equal(lines.at(-1), "10.0.1.5\tweb.1");
  assert.ok(!hostsFile("web.1").includes("web.1"), "no address, no line");
});

Deno.test("TaskEtcFiles: written per task under <dataDir>/tasks, read-only mounts, removed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "warren-etc-" });
  try {
    const etc = new TaskEtcFiles(dataDir);
    const mounts = await etc.write("t1", {
      hostname: "web.1",
      ip: "10.0.1.5",
      network: { mode: "netns", path: "/run/netns/t1" },
    });
    const dir = join(dataDir, "tasks", "t1");
    assert.deepEqual(mounts, [
      { source: join(dir, "hostname"), destination: "/etc/hostname", readonly: true },
      { source: join(dir, "hosts"), destination: "/etc/hosts", readonly: true },
    ]);
    assert.equal(await Deno.readTextFile(join(dir, "hostname")), "web.1\n");
    assert.equal(await Deno.readTextFile(join(dir, "hosts")), hostsFile("web.1", "10.0.1.5"));
    assert.equal((await Deno.stat(join(dir, "hosts"))).mode! & 0o777, 0o644);
    // A new address on a later create replaces the old one.
    await etc.write("t1", { hostname: "web.1", ip: "10.0.1.9", network: { mode: "none" } });
    assert.match(await Deno.readTextFile(join(dir, "hosts")), /10\.0\.1\.9\tweb\.1\n$/);
    assert.deepEqual(await etc.write("t2", { hostname: "h", network: { mode: "host" } }), []);
    await etc.write("t3", { hostname: "h3", network: { mode: "none" } });
    await etc.prune(new Set(["t1"]));
    assert.deepEqual([...Deno.readDirSync(join(dataDir, "tasks"))].map((e) => e.name), ["t1"]);
    await etc.remove("t1");
    await etc.remove("t1");
    assert.deepEqual([...Deno.readDirSync(join(dataDir, "tasks"))], []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

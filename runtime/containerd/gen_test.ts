/**
 * Guards the committed containerd API code: regenerating it from the Debian-shipped protos with
 * tools/proto_containerd.sh must reproduce runtime/containerd/gen/ byte for byte.
 */
import assert from "node:assert/strict";

const genDir = new URL("./gen/", import.meta.url).pathname;
const script = new URL("../../tools/proto_containerd.sh", import.meta.url).pathname;

/** Lists every file under `dir` as a path relative to it, sorted. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir + prefix)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...await listFiles(dir, rel + "/"));
    else out.push(rel);
  }
  return out.sort();
}

Deno.test({
  name: "containerd gen: committed code matches a fresh regeneration",
  // protoc and the npm ts-proto plugin run as subprocesses.
  permissions: "inherit",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "warren-gen-" });
    try {
      const out = `${tmp}/gen`;
      const res = await new Deno.Command("bash", { args: [script, out], stderr: "piped" }).output();
      assert.equal(
        res.code,
        0,
        `proto_containerd.sh failed: ${new TextDecoder().decode(res.stderr)}`,
      );
      const fresh = await listFiles(out + "/");
      const committed = await listFiles(genDir);
      assert.deepEqual(committed, fresh, "file list differs: run tools/proto_containerd.sh");
      for (const rel of fresh) {
        const [a, b] = await Promise.all([
          Deno.readTextFile(genDir + rel),
          Deno.readTextFile(`${out}/${rel}`),
        ]);
        assert.ok(a === b, `${rel} is stale: run tools/proto_containerd.sh`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

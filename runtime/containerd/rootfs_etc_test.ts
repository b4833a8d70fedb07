import assert from "node:assert/strict";
import { compactOverlayOptions, readEtcFromMounts, resolveInRoot } from "./rootfs_etc.ts";

async function layer(files: Record<string, string>, links: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "warren-layer-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  for (const [path, target] of Object.entries(links)) {
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.symlink(target, `${dir}/${path}`);
  }
  return dir;
}

Deno.test("resolveInRoot: symlinks and .. stay inside the root", async () => {
  const root = await layer({ "usr/lib/passwd": "image\n" }, {
    "etc/passwd": "/usr/lib/passwd",
    "etc/group": "../../../../etc/group", // would be the host's outside a chroot
    "etc/loop": "loop",
  });
  try {
    assert.equal(await resolveInRoot(root, "/etc/passwd"), `${root}/usr/lib/passwd`);
    assert.equal(await resolveInRoot(root, "/etc/group"), undefined, "no /etc/group in the root");
    assert.equal(await resolveInRoot(root, "/etc/loop"), undefined);
    assert.equal(await resolveInRoot(root, "/missing/x"), undefined);
    const etc = await readEtcFromMounts([{ type: "bind", source: root, options: ["ro", "rbind"] }]);
    assert.deepEqual(etc, { passwd: "image\n" });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compactOverlayOptions: long lowerdir lists become relative to their parent", () => {
  const short = compactOverlayOptions(["ro", "lowerdir=/s/1/fs:/s/2/fs"]);
  assert.deepEqual(short, { data: "ro,lowerdir=/s/1/fs:/s/2/fs" });
  const dirs = Array.from({ length: 200 }, (_, i) => `/var/lib/ctd/snapshots/${i}/fs`);
  const long = compactOverlayOptions(["index=off", `lowerdir=${dirs.join(":")}`, "ro"]);
  assert.equal(long.cwd, "/var/lib/ctd/snapshots");
  assert.equal(
    long.data,
    `index=off,lowerdir=${dirs.map((_, i) => `${i}/fs`).join(":")},ro`,
  );
  assert.ok(long.data.length < 4000);
});

Deno.test({
  name: "readEtcFromMounts: an overlay of layers is mounted read-only, read, and unmounted",
  ignore: Deno.uid() !== 0,
  async fn() {
    const upper = await layer({ "etc/passwd": "app:x:1000:1000::/:/bin/sh\n" });
    const lower = await layer({
      "etc/passwd": "root:x:0:0::/:/bin/sh\n",
      "etc/group": "root:x:0:\n",
    });
    const before = await Deno.readTextFile("/proc/self/mountinfo");
    try {
      const etc = await readEtcFromMounts([
        { type: "overlay", source: "overlay", options: [`lowerdir=${upper}:${lower}`] },
      ]);
      assert.deepEqual(etc, { passwd: "app:x:1000:1000::/:/bin/sh\n", group: "root:x:0:\n" });
      assert.equal(await Deno.readTextFile("/proc/self/mountinfo"), before, "unmounted again");
    } finally {
      await Deno.remove(upper, { recursive: true });
      await Deno.remove(lower, { recursive: true });
    }
  },
});

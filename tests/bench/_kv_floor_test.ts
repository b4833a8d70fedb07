import assert from "node:assert/strict";
import { kvCommits } from "./_kv_floor.ts";

Deno.test("kv floor: measures each commit and leaves no file behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-kv-floor-" });
  try {
    const ms = await kvCommits(dir, 5, 1);
    assert.equal(ms.length, 5);
    assert.ok(ms.every((x) => x > 0 && Number.isFinite(x)), ms.join(","));
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chainIds, sha256Hex, sha256Stream } from "./_digest.ts";

Deno.test("sha256Hex: known vector", async () => {
  assert.equal(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("sha256Stream: same digest as one-shot hashing, across chunk boundaries", async () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 31) % 251);
  const h = sha256Stream();
  for (let i = 0; i < data.length; i += 7_777) h.update(data.subarray(i, i + 7_777));
  assert.equal(h.digest(), `sha256:${await sha256Hex(data)}`);
});

Deno.test("chainIds: first is the diff ID, then sha256(parent + ' ' + diffID)", async () => {
  const d = ["sha256:" + "1".repeat(64), "sha256:" + "2".repeat(64), "sha256:" + "3".repeat(64)];
  const c = await chainIds(d);
  const expect1 = "sha256:" + createHash("sha256").update(`${d[0]} ${d[1]}`).digest("hex");
  const expect2 = "sha256:" + createHash("sha256").update(`${expect1} ${d[2]}`).digest("hex");
  assert.deepEqual(c, [d[0], expect1, expect2]);
  assert.deepEqual(await chainIds([]), []);
});

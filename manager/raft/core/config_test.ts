import assert from "node:assert/strict";
import { resolveConfig } from "./config.ts";
import { seedFromString, xoshiro128 } from "./prng.ts";

Deno.test("config: defaults", () => {
  const c = resolveConfig({ id: "n1" });
  assert.equal(c.electionTicks, 10);
  assert.equal(c.heartbeatTicks, 1);
  assert.equal(c.preVote, true);
  assert.equal(c.checkQuorum, true);
  assert.equal(c.readOnly, "safe");
  assert.equal(c.snapshotChunkBytes, 512 * 1024);
});

Deno.test("config: invalid values name the field", () => {
  const bad: [Parameters<typeof resolveConfig>[0], string][] = [
    [{ id: "" }, "id"],
    [{ id: "a", heartbeatTicks: 0 }, "heartbeatTicks"],
    [{ id: "a", electionTicks: 1, heartbeatTicks: 1 }, "electionTicks"],
    [{ id: "a", maxInflightMsgs: 0 }, "maxInflightMsgs"],
    [{ id: "a", snapshotChunkBytes: 0 }, "snapshotChunkBytes"],
    [{ id: "a", electionTicks: 2.5 }, "electionTicks"],
    [{ id: "a", readOnly: "lease", checkQuorum: false }, "readOnly"],
    [{ id: "a", readOnly: "fast" as "safe" }, "readOnly"],
  ];
  for (const [cfg, field] of bad) {
    assert.throws(
      () => resolveConfig(cfg),
      (err: { field?: string }) => err.field === field,
      JSON.stringify(cfg),
    );
  }
});

Deno.test("prng: deterministic per seed, uniform enough in [0, 1)", () => {
  const a = xoshiro128(42), b = xoshiro128(42), c = xoshiro128(43);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, b));
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, c));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
  assert.notEqual(seedFromString("node-1"), seedFromString("node-2"));
});

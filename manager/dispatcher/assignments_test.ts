import assert from "node:assert/strict";
import { diffKeyed } from "./assignments.ts";

const entry = (sig: string) => ({ value: sig, sig });

Deno.test("diffKeyed: upserts changed and new entries, removes missing ones", () => {
  const prev = new Map([["a", { sig: "1" }], ["b", { sig: "1" }], ["c", { sig: "1" }]]);
  const next = new Map([["a", entry("1")], ["b", entry("2")], ["d", entry("1")]]);
  assert.deepEqual(diffKeyed(prev, next), { upserts: ["2", "1"], removed: ["c"] });
});

Deno.test("diffKeyed: a skipped key is treated as absent (a node's own peer entry)", () => {
  const shared = new Map([["self", entry("s")], ["other", entry("o")]]);
  assert.deepEqual(diffKeyed(new Map(), shared, "self"), { upserts: ["o"], removed: [] });
  // Sent earlier (before the fix, or by an older leader): removed now.
  assert.deepEqual(diffKeyed(new Map([["self", { sig: "s" }]]), shared, "self"), {
    upserts: ["o"],
    removed: ["self"],
  });
});

import assert from "node:assert/strict";
import { committedIndex, majority, voteResult } from "./quorum.ts";

Deno.test("majority sizes", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
});

Deno.test("committedIndex is the highest index a majority has", () => {
  const m = (o: Record<string, number>) => (id: string) => o[id];
  assert.equal(committedIndex(["1"], m({ "1": 7 })), 7);
  assert.equal(committedIndex(["1", "2", "3"], m({ "1": 5, "2": 3, "3": 1 })), 3);
  assert.equal(committedIndex(["1", "2", "3", "4"], m({ "1": 9, "2": 8, "3": 2, "4": 1 })), 2);
  assert.equal(committedIndex(["1", "2", "3", "4", "5"], m({ "1": 9, "2": 8, "3": 7, "4": 1 })), 7);
  // Unknown voters count as 0; numeric (not lexical) order matters.
  assert.equal(committedIndex(["1", "2", "3"], m({ "1": 10, "2": 9 })), 9);
  assert.equal(committedIndex([], m({})), Number.MAX_SAFE_INTEGER);
});

Deno.test("voteResult: won, pending, lost", () => {
  const v = (o: Record<string, boolean>) => new Map(Object.entries(o));
  const voters = ["1", "2", "3"];
  assert.equal(voteResult(voters, v({ "1": true })), "pending");
  assert.equal(voteResult(voters, v({ "1": true, "2": true })), "won");
  assert.equal(voteResult(voters, v({ "1": true, "2": false })), "pending");
  assert.equal(voteResult(voters, v({ "1": true, "2": false, "3": false })), "lost");
  assert.equal(
    voteResult(["1", "2", "3", "4"], v({ "1": true, "2": true, "3": false, "4": false })),
    "lost",
  );
  // Votes of non-voters do not count.
  assert.equal(voteResult(voters, v({ "1": true, "9": true })), "pending");
  assert.equal(voteResult([], v({})), "won");
});

import assert from "node:assert/strict";
import { percentile, round } from "./_stats.ts";

Deno.test("percentile: nearest rank over unsorted values", () => {
  const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(v, 50), 5);
  assert.equal(percentile(v, 99), 10);
  assert.equal(percentile(v, 0), 1);
  assert.equal(percentile([], 50), Number.NaN);
  assert.deepEqual(v.slice(0, 3), [5, 1, 4], "the input is not sorted in place");
});

Deno.test("round: to the given decimals", () => {
  assert.equal(round(1.23456), 1.23);
  assert.equal(round(1.23456, 3), 1.235);
});

import assert from "node:assert/strict";
import { Inflights } from "./inflights.ts";

Deno.test("inflights fill, free up to an index, and wrap around", () => {
  const f = new Inflights(4);
  for (const i of [1, 2, 3, 4]) f.add(i);
  assert.ok(f.full());
  assert.throws(() => f.add(5));
  f.freeLE(2);
  assert.equal(f.count, 2);
  f.add(5);
  f.add(6); // wraps to the start of the buffer
  assert.ok(f.full());
  f.freeLE(0); // below the oldest: nothing
  assert.equal(f.count, 4);
  f.freeLE(5);
  assert.equal(f.count, 1);
  f.freeFirstOne();
  assert.equal(f.count, 0);
  f.add(7);
  f.reset();
  assert.equal(f.count, 0);
  assert.ok(!f.full());
});

Deno.test("inflights freeLE beyond the newest frees everything", () => {
  const f = new Inflights(3);
  f.add(10);
  f.add(20);
  f.freeLE(100);
  assert.equal(f.count, 0);
  for (const i of [30, 40, 50]) f.add(i);
  assert.ok(f.full());
});

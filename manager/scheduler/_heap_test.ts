import assert from "node:assert/strict";
import fc from "fast-check";
import { Heap } from "./_heap.ts";

Deno.test("Heap pops in order and keeps order after push", () => {
  fc.assert(fc.property(fc.array(fc.integer()), fc.array(fc.integer()), (init, more) => {
    const heap = new Heap(init.slice(), (a, b) => a < b);
    for (const x of more) heap.push(x);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    assert.deepEqual(out, [...init, ...more].sort((a, b) => a - b));
  }));
});

Deno.test("Heap.updateTop re-sorts after the top's key grows", () => {
  const keys = new Map([["a", 1], ["b", 2], ["c", 3]]);
  const heap = new Heap(["c", "a", "b"], (x, y) => keys.get(x)! < keys.get(y)!);
  assert.equal(heap.peek(), "a");
  keys.set("a", 10);
  heap.updateTop();
  assert.equal(heap.pop(), "b");
  assert.equal(heap.pop(), "c");
  assert.equal(heap.pop(), "a");
  assert.equal(heap.pop(), undefined);
});

import assert from "node:assert/strict";
import { Unstable } from "./log_unstable.ts";
import type { Entry, Snapshot } from "./types.ts";

const e = (index: number, term: number): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array(),
});
const ids = (es: Entry[]) => es.map((x) => `${x.term}/${x.index}`);

Deno.test("unstable: append, truncate and replace", () => {
  const u = new Unstable(5);
  u.truncateAndAppend([e(5, 1), e(6, 1)]);
  assert.deepEqual(ids(u.entries), ["1/5", "1/6"]);
  u.truncateAndAppend([e(7, 1)]);
  assert.equal(u.maybeLastIndex(), 7);
  u.truncateAndAppend([e(6, 2)]); // conflict inside: truncate
  assert.deepEqual(ids(u.entries), ["1/5", "2/6"]);
  u.truncateAndAppend([e(4, 3)]); // before offset: replace
  assert.equal(u.offset, 4);
  assert.deepEqual(ids(u.entries), ["3/4"]);
});

Deno.test("unstable: stableTo drops only unchanged persisted entries", () => {
  const u = new Unstable(5);
  u.truncateAndAppend([e(5, 1), e(6, 1), e(7, 1)]);
  u.stableTo(6, 2); // term mismatch: was overwritten, keep
  assert.equal(u.entries.length, 3);
  u.stableTo(6, 1);
  assert.deepEqual(ids(u.entries), ["1/7"]);
  assert.equal(u.offset, 7);
  assert.equal(u.maybeTerm(7), 1);
  assert.equal(u.maybeTerm(6), undefined);
});

Deno.test("unstable: snapshot restore and terms", () => {
  const u = new Unstable(3);
  const s: Snapshot = {
    meta: { index: 10, term: 4, confState: { voters: [], learners: [] } },
    data: new Uint8Array(),
  };
  u.restore(s);
  assert.equal(u.maybeFirstIndex(), 11);
  assert.equal(u.maybeLastIndex(), 10);
  assert.equal(u.maybeTerm(10), 4);
  assert.equal(u.maybeTerm(9), undefined);
  u.stableSnapTo(9);
  assert.ok(u.snapshot);
  u.stableSnapTo(10);
  assert.equal(u.snapshot, undefined);
  assert.throws(() => u.slice(5, 12));
});

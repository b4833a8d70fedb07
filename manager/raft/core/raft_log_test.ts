import assert from "node:assert/strict";
import { CompactedError } from "./errors.ts";
import { MemoryStorage } from "./memory_storage.ts";
import { RaftLog } from "./raft_log.ts";
import type { Entry } from "./types.ts";

const e = (index: number, term: number, size = 0): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array(size),
});
const ids = (es: Entry[]) => es.map((x) => `${x.term}/${x.index}`);

/** A log with entries 1..3 (term 1) stable and 4..5 (term 2) unstable. */
function makeLog(): RaftLog {
  const s = new MemoryStorage();
  s.append([e(1, 1), e(2, 1), e(3, 1)]);
  const log = new RaftLog(s, Infinity);
  log.append([e(4, 2), e(5, 2)]);
  return log;
}

Deno.test("raft log: slices stitch stable and unstable parts", () => {
  const log = makeLog();
  assert.equal(log.firstIndex(), 1);
  assert.equal(log.lastIndex(), 5);
  assert.deepEqual(ids(log.slice(2, 6, Infinity)), ["1/2", "1/3", "2/4", "2/5"]);
  assert.deepEqual(ids(log.slice(4, 5, Infinity)), ["2/4"]);
  assert.equal(log.term(4), 2);
  assert.equal(log.termOrUndefined(9), undefined);
});

Deno.test("raft log: slice respects the size limit across the boundary", () => {
  const s = new MemoryStorage();
  s.append([e(1, 1, 100), e(2, 1, 100)]);
  const log = new RaftLog(s, Infinity);
  log.append([e(3, 1, 100)]);
  assert.equal(log.slice(1, 4, 250).length, 2);
  assert.equal(log.slice(1, 4, 0).length, 1);
  assert.equal(log.slice(1, 4, 1000).length, 3);
});

Deno.test("raft log: maybeAppend checks the previous entry and truncates conflicts (§5.3)", () => {
  const log = makeLog();
  assert.equal(log.maybeAppend(5, 1, 5, [e(6, 3)]), undefined, "term mismatch at 5");
  assert.equal(log.maybeAppend(7, 2, 5, []), undefined, "beyond our log");
  assert.equal(log.maybeAppend(3, 1, 4, [e(4, 3), e(5, 3), e(6, 3)]), 6);
  assert.deepEqual(ids(log.slice(1, 7, Infinity)), ["1/1", "1/2", "1/3", "3/4", "3/5", "3/6"]);
  assert.equal(log.committed, 4);
  // An old, matching MsgApp does not truncate what follows it.
  assert.equal(log.maybeAppend(3, 1, 4, [e(4, 3)]), 4);
  assert.equal(log.lastIndex(), 6);
  // Overwriting a committed entry is a broken invariant.
  assert.throws(() => log.maybeAppend(2, 1, 4, [e(3, 9)]));
});

Deno.test("raft log: findConflictByTerm and up-to-date checks", () => {
  const log = makeLog();
  assert.deepEqual(log.findConflictByTerm(5, 1), { index: 3, term: 1 });
  assert.deepEqual(log.findConflictByTerm(5, 2), { index: 5, term: 2 });
  assert.deepEqual(log.findConflictByTerm(2, 0), { index: 0, term: 0 });
  assert.ok(log.isUpToDate(5, 2));
  assert.ok(log.isUpToDate(1, 3));
  assert.ok(!log.isUpToDate(4, 2));
  assert.ok(!log.isUpToDate(9, 1));
});

Deno.test("raft log: commit only entries of the given term", () => {
  const log = makeLog();
  assert.equal(log.maybeCommit(3, 2), false, "entry 3 is of term 1");
  assert.equal(log.maybeCommit(5, 2), true);
  assert.equal(log.committed, 5);
  assert.deepEqual(ids(log.nextCommittedEntries()), ["1/1", "1/2", "1/3", "2/4", "2/5"]);
  log.applyingTo(5);
  assert.deepEqual(log.nextCommittedEntries(), []);
  log.appliedTo(5);
  assert.equal(log.applied, 5);
});

Deno.test("raft log: compacted indexes throw CompactedError; restore replaces the log", () => {
  const s = new MemoryStorage();
  s.append([e(1, 1), e(2, 1), e(3, 1)]);
  s.createSnapshot(2, { voters: ["1"], learners: [] }, new Uint8Array());
  s.compact(2);
  const log = new RaftLog(s, Infinity);
  assert.throws(() => log.slice(1, 3, Infinity), CompactedError);
  assert.equal(log.term(2), 1);
  log.restore({
    meta: { index: 9, term: 3, confState: { voters: ["1"], learners: [] } },
    data: new Uint8Array(),
  });
  assert.equal(log.firstIndex(), 10);
  assert.equal(log.lastIndex(), 9);
  assert.equal(log.committed, 9);
  assert.equal(log.lastTerm(), 3);
});

import assert from "node:assert/strict";
import type { Entry, Snapshot } from "../../manager/raft/core/types.ts";
import { SimDisk } from "./disk.ts";
import { SimRng } from "./rng.ts";

const boot: Snapshot = {
  meta: { index: 1, term: 1, confState: { voters: ["a"], learners: [] } },
  data: new Uint8Array(),
};
const ent = (index: number, term = 1): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array([index]),
});

Deno.test("disk: synced writes survive a crash, unsynced ones are lost", () => {
  const d = new SimDisk(boot);
  d.write([{ kind: "append", entries: [ent(2), ent(3)] }, {
    kind: "hardState",
    hardState: { term: 1, vote: "a", commit: 2 },
  }]);
  d.sync();
  d.write([{ kind: "append", entries: [ent(4)] }]);
  assert.equal(d.storage.lastIndex(), 4);
  assert.equal(d.durable.lastIndex(), 3);
  assert.equal(d.unsyncedBatches, 1);
  const v = d.version;
  assert.equal(d.crash(new SimRng(1), "loseUnsynced"), 1);
  assert.ok(d.version > v);
  assert.equal(d.storage.lastIndex(), 3);
  assert.deepEqual(d.storage.initialState().hardState, { term: 1, vote: "a", commit: 2 });
  assert.equal(d.storage.snapshot().meta.index, 1);
});

Deno.test("disk: a torn crash keeps a prefix of whole batches, in order", () => {
  const kept = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const d = new SimDisk(boot);
    for (let i = 2; i <= 6; i++) d.write([{ kind: "append", entries: [ent(i)] }]);
    d.crash(new SimRng(seed), "torn");
    const last = d.storage.lastIndex();
    kept.add(last);
    // Every kept entry is there: no holes.
    if (last >= 2) assert.equal(d.storage.entries(2, last + 1, Infinity).length, last - 1);
  }
  assert.ok(kept.has(1) && kept.has(6) && kept.size > 2, `kept: ${[...kept]}`);
});

Deno.test("disk: snapshots and compaction survive once synced", () => {
  const d = new SimDisk(boot);
  d.write([{ kind: "append", entries: [ent(2), ent(3), ent(4)] }]);
  d.sync();
  d.write([
    {
      kind: "createSnapshot",
      index: 3,
      confState: { voters: ["a"], learners: [] },
      data: new Uint8Array([9]),
    },
    { kind: "compact", index: 2 },
  ]);
  d.sync();
  d.crash(new SimRng(1), "loseUnsynced");
  assert.equal(d.storage.snapshot().meta.index, 3);
  assert.deepEqual([...d.storage.snapshot().data], [9]);
  assert.equal(d.storage.firstIndex(), 4);
  assert.equal(d.storage.lastIndex(), 4);
  assert.equal(d.storage.term(3), 1);
});

Deno.test("disk: the planted loseSyncedWrites bug loses recently synced batches", () => {
  const d = new SimDisk(boot, { loseSyncedWrites: true });
  d.write([{ kind: "append", entries: [ent(2)] }]);
  d.sync();
  // The disk claims the write is durable...
  assert.equal(d.durable.lastIndex(), 2);
  d.crash(new SimRng(1), "loseUnsynced");
  // ...but a crash loses it.
  assert.equal(d.storage.lastIndex(), 1);
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { runStorageConformance } from "./core/storage_conformance.ts";
import { KvStorage } from "./kv_storage.ts";
import type { Entry } from "./core/types.ts";
import { encodeEntry, encodeEntryRun, encodeHardState } from "./core/codec.ts";

const enc = new TextEncoder();
const ent = (index: number, term: number, data: Uint8Array | string = `e${index}`): Entry => ({
  index,
  term,
  type: "normal",
  data: typeof data === "string" ? enc.encode(data) : data,
});

/** Start indexes of the entry runs stored under ["raft"] (one per run, whatever its parts). */
async function runStarts(kv: Deno.Kv): Promise<number[]> {
  const starts = new Set<number>();
  for await (const r of kv.list({ prefix: ["raft", "r"] })) starts.add(r.key[3] as number);
  return [...starts];
}

/** A KV file in a temp dir, reopenable, removed at the end. */
async function tempKv() {
  const dir = await Deno.makeTempDir({ prefix: "warren-raft-kv-" });
  const path = join(dir, "raft.kv");
  const opened: Deno.Kv[] = [];
  return {
    async open() {
      const kv = await Deno.openKv(path);
      opened.push(kv);
      return kv;
    },
    async [Symbol.asyncDispose]() {
      for (const kv of opened) {
        try {
          kv.close();
        } catch { /* closed already */ }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("KvStorage passes the storage conformance suite", async (t) => {
  await using tmp = await tempKv();
  let n = 0;
  await runStorageConformance("deno kv", async () => {
    return await KvStorage.open(await tmp.open(), ["raft", n++]);
  }, t);
});

Deno.test("KvStorage: everything written survives a reopen", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.persist({
    entries: [ent(1, 1), ent(2, 1), ent(3, 2)],
    hardState: { term: 2, vote: "b", commit: 2 },
  });
  await s1.append([ent(3, 3, "x3"), ent(4, 3, "x4")]); // truncates the old entry 3
  kv1.close();
  const s2 = await KvStorage.open(await tmp.open());
  assert.deepEqual(s2.initialState().hardState, { term: 2, vote: "b", commit: 2 });
  assert.equal(s2.lastIndex(), 4);
  assert.deepEqual(s2.entries(1, 5, Infinity), [
    ent(1, 1),
    ent(2, 1),
    ent(3, 3, "x3"),
    ent(4, 3, "x4"),
  ]);
});

Deno.test("KvStorage: a commit index written behind the latest snapshot opens at the snapshot", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.persist({
    entries: [ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)],
    hardState: { term: 1, vote: "a", commit: 2 },
  });
  // A node that applied up to 3 (the commit that said so not yet durable) took a snapshot there
  // and was killed: its entries are committed, the snapshot says so.
  await s1.createSnapshot(3, { voters: ["a"], learners: [] }, enc.encode("state"));
  kv1.close();
  const s2 = await KvStorage.open(await tmp.open());
  assert.deepEqual(s2.initialState().hardState, { term: 1, vote: "a", commit: 3 });
  assert.equal(s2.lastIndex(), 4);
});

Deno.test("KvStorage: entries and snapshots above 64 KiB are chunked and reassembled", async () => {
  await using tmp = await tempKv();
  const big = new Uint8Array(300_000).map((_, i) => i * 7);
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.append([ent(1, 1), ent(2, 1, big), ent(3, 1)]);
  const snapData = new Uint8Array(1_000_000).map((_, i) => i * 13);
  await s1.createSnapshot(2, { voters: ["a", "b", "c"], learners: [] }, snapData);
  kv1.close();
  const s2 = await KvStorage.open(await tmp.open());
  assert.deepEqual(s2.entries(2, 4, Infinity), [ent(2, 1, big), ent(3, 1)]);
  assert.deepEqual(s2.snapshot().data, snapData);
  assert.deepEqual(s2.snapshot().meta, {
    index: 2,
    term: 1,
    confState: { voters: ["a", "b", "c"], learners: [] },
  });
});

Deno.test("KvStorage: compaction and installed snapshots persist; old data is collected", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  const ents = Array.from({ length: 20 }, (_, i) => ent(i + 1, 1));
  // Four writes, so four runs: 1-5, 6-10, 11-15, 16-20.
  for (let i = 0; i < 20; i += 5) await s1.append(ents.slice(i, i + 5));
  await s1.createSnapshot(10, { voters: ["a"], learners: [] }, enc.encode("state@10"));
  await s1.compact(10);
  kv1.close();
  const kv2 = await tmp.open();
  const s2 = await KvStorage.open(kv2);
  assert.equal(s2.firstIndex(), 11);
  assert.equal(s2.term(10), 1);
  assert.deepEqual(s2.entries(11, 21, Infinity), ents.slice(10));
  assert.deepEqual(await runStarts(kv2), [11, 16], "runs of compacted entries are deleted");

  // A snapshot from the leader replaces the whole log.
  await s2.applySnapshot({
    meta: { index: 50, term: 4, confState: { voters: ["a", "b"], learners: [] } },
    data: enc.encode("s50"),
  });
  await s2.append([ent(51, 4)]);
  kv2.close();
  const kv3 = await tmp.open();
  const s3 = await KvStorage.open(kv3);
  assert.equal(s3.firstIndex(), 51);
  assert.equal(s3.lastIndex(), 51);
  assert.deepEqual(s3.snapshot().data, enc.encode("s50"));
  assert.deepEqual(s3.initialState().confState, { voters: ["a", "b"], learners: [] });
  assert.deepEqual(await runStarts(kv3), [51], "entries of the old epoch are deleted");
});

Deno.test("KvStorage: compacting past the latest snapshot is refused", async () => {
  await using tmp = await tempKv();
  const s = await KvStorage.open(await tmp.open());
  await s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  await assert.rejects(() => s.compact(2), /latest snapshot is at 0/);
  assert.equal(s.firstIndex(), 1);
});

Deno.test("KvStorage: a suffix replaced inside a run, and again inside that, reloads as written", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.append([1, 2, 3, 4, 5, 6].map((i) => ent(i, 1))); // run A: 1-6
  await s1.append([ent(4, 2, "b4"), ent(5, 2, "b5")]); // run B from 4: A keeps a stale 4-6
  await s1.append([ent(6, 2, "c6"), ent(7, 2, "c7")]); // run C from 6
  await s1.append([ent(3, 3, "d3")]); // run D from 3: deletes B and C, A is stale from 3
  await s1.append([ent(4, 3, "e4")]); // run E from 4
  const want = [ent(1, 1), ent(2, 1), ent(3, 3, "d3"), ent(4, 3, "e4")];
  assert.deepEqual(s1.entries(1, 5, Infinity), want);
  kv1.close();
  const kv2 = await tmp.open();
  const s2 = await KvStorage.open(kv2);
  assert.equal(s2.lastIndex(), 4);
  assert.deepEqual(s2.entries(1, 5, Infinity), want);
  assert.deepEqual(await runStarts(kv2), [1, 3, 4]);
  // Compaction to 3 collects the runs from 1 and from 3 (live up to 2 and 3), keeps the one from 4.
  await s2.createSnapshot(3, { voters: ["a"], learners: [] }, enc.encode("s3"));
  await s2.compact(3);
  assert.deepEqual(await runStarts(kv2), [4]);
  kv2.close();
  const kv3 = await tmp.open();
  const s3 = await KvStorage.open(kv3);
  assert.equal(s3.firstIndex(), 4);
  assert.deepEqual(s3.entries(4, 5, Infinity), [ent(4, 3, "e4")]);
  // Replacing a whole run: the write deletes and rewrites the same key in one commit.
  await s3.append([ent(4, 4, "f4"), ent(5, 4, "f5")]);
  kv3.close();
  const s4 = await KvStorage.open(await tmp.open());
  assert.deepEqual(s4.entries(4, 6, Infinity), [ent(4, 4, "f4"), ent(5, 4, "f5")]);
});

Deno.test("KvStorage: entries of the layout before runs are still read and replaced", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  // One key per entry, as written before runs.
  const op = kv1.atomic();
  for (const e of [ent(1, 1), ent(2, 1), ent(3, 1)]) {
    op.set(["raft", "e", 0, e.index, 0], encodeEntry(e));
  }
  op.set(["raft", "hs"], encodeHardState({ term: 1, vote: "a", commit: 3 }));
  await op.commit();
  const s1 = await KvStorage.open(kv1);
  assert.deepEqual(s1.entries(1, 4, Infinity), [ent(1, 1), ent(2, 1), ent(3, 1)]);
  await s1.append([ent(3, 2, "x3"), ent(4, 2, "x4")]); // replaces the old-layout entry 3
  kv1.close();
  const kv2 = await tmp.open();
  const s2 = await KvStorage.open(kv2);
  assert.deepEqual(s2.entries(1, 5, Infinity), [
    ent(1, 1),
    ent(2, 1),
    ent(3, 2, "x3"),
    ent(4, 2, "x4"),
  ]);
  await s2.createSnapshot(3, { voters: ["a"], learners: [] }, enc.encode("s3"));
  await s2.compact(3);
  let old = 0;
  for await (const _ of kv2.list({ prefix: ["raft", "e"] })) old++;
  assert.equal(old, 0, "compacted old-layout entries are deleted");
});

Deno.test("KvStorage: a run cut short by a crash ends the log", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.persist({
    entries: [ent(1, 1), ent(2, 1)],
    hardState: { term: 1, vote: "a", commit: 2 },
  });
  // A large write of three parts whose last commit never happened: parts 0 and 1 are stored.
  const run = encodeEntryRun([ent(3, 1, new Uint8Array(150_000).fill(7))]);
  const part = 60 * 1024;
  await kv1.set(["raft", "r", 0, 3, 0], run.subarray(0, part));
  await kv1.set(["raft", "r", 0, 3, 1], run.subarray(part, 2 * part));
  kv1.close();
  const kv2 = await tmp.open();
  const s2 = await KvStorage.open(kv2);
  assert.equal(s2.lastIndex(), 2);
  assert.deepEqual(s2.initialState().hardState, { term: 1, vote: "a", commit: 2 });
  // The log goes on from 3 with a smaller run: the torn parts must not be read back with it.
  await s2.append([ent(3, 2, "new3")]);
  kv2.close();
  const s3 = await KvStorage.open(await tmp.open());
  assert.deepEqual(s3.entries(1, 4, Infinity), [ent(1, 1), ent(2, 1), ent(3, 2, "new3")]);
});

Deno.test("KvStorage: a run that does not decode with later runs after it is corruption", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  await s1.persist({ entries: [ent(1, 1)], hardState: { term: 1, vote: "a", commit: 1 } });
  await s1.persist({ entries: [ent(2, 1)], hardState: undefined });
  await kv1.set(["raft", "r", 0, 1, 0], new Uint8Array([5, 1])); // garbage in the first run
  kv1.close();
  await assert.rejects(KvStorage.open(await tmp.open()), /does not decode and later runs exist/);
});

Deno.test("KvStorage: a crash inside a large truncation leaves a log the node had", async () => {
  await using tmp = await tempKv();
  const kv1 = await tmp.open();
  const s1 = await KvStorage.open(kv1);
  // Run A = 1..1000 (term 1); run B = 5..7 (term 2) replaces A's tail; then 693 single-entry
  // runs 8..700 (term 2): more runs than one commit deletes.
  await s1.persist({
    entries: Array.from({ length: 1000 }, (_, i) => ent(i + 1, 1)),
    hardState: { term: 1, vote: "a", commit: 2 },
  });
  await s1.append([ent(5, 2), ent(6, 2), ent(7, 2)]);
  for (let i = 8; i <= 700; i++) await s1.append([ent(i, 2)]);
  kv1.close();
  // Reopened on a KV whose second atomic commit "crashes": the truncation at 3 gets only its
  // first commit (500 of its 694 deletes) done.
  const kv2 = await tmp.open();
  let commits = 0;
  const crashing = new Proxy(kv2, {
    get(target, prop) {
      if (prop !== "atomic") {
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      }
      return () => {
        const op = target.atomic();
        const commit = op.commit.bind(op);
        op.commit = () => {
          if (++commits > 1) return Promise.reject(new Error("crash"));
          return commit();
        };
        return op;
      };
    },
  });
  const s1b = await KvStorage.open(crashing);
  commits = 0;
  await assert.rejects(s1b.append([ent(3, 3)]), /crash/);
  kv2.close();
  const s2 = await KvStorage.open(await tmp.open());
  // The log as it was after an earlier write: 1..4 of A, 5..7 of B, 8..200 single runs.
  const log = s2.entries(1, s2.lastIndex() + 1, Infinity);
  assert.equal(s2.lastIndex(), 200);
  assert.deepEqual(log.slice(0, 4).map((e) => e.term), [1, 1, 1, 1]);
  assert.ok(log.slice(4).every((e) => e.term === 2), "no term-1 entry after a term-2 one");
});

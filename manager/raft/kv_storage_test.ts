import assert from "node:assert/strict";
import { join } from "node:path";
import { runStorageConformance } from "./core/storage_conformance.ts";
import { KvStorage } from "./kv_storage.ts";
import type { Entry } from "./core/types.ts";

const enc = new TextEncoder();
const ent = (index: number, term: number, data: Uint8Array | string = `e${index}`): Entry => ({
  index,
  term,
  type: "normal",
  data: typeof data === "string" ? enc.encode(data) : data,
});

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
  await s1.append(ents);
  await s1.createSnapshot(10, { voters: ["a"], learners: [] }, enc.encode("state@10"));
  await s1.compact(10);
  kv1.close();
  const kv2 = await tmp.open();
  const s2 = await KvStorage.open(kv2);
  assert.equal(s2.firstIndex(), 11);
  assert.equal(s2.term(10), 1);
  assert.deepEqual(s2.entries(11, 21, Infinity), ents.slice(10));
  let stored = 0;
  for await (const _ of kv2.list({ prefix: ["raft", "e"] })) stored++;
  assert.equal(stored, 10, "compacted entries are deleted from KV");

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
  stored = 0;
  for await (const _ of kv3.list({ prefix: ["raft", "e"] })) stored++;
  assert.equal(stored, 1, "entries of the old epoch are deleted");
});

Deno.test("KvStorage: compacting past the latest snapshot is refused", async () => {
  await using tmp = await tempKv();
  const s = await KvStorage.open(await tmp.open());
  await s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  await assert.rejects(() => s.compact(2), /latest snapshot is at 0/);
  assert.equal(s.firstIndex(), 1);
});

import assert from "node:assert/strict";
import { Store } from "./store.ts";
import { type Command, encodeCommand } from "./commands.ts";
import { service } from "./_fixtures_test_util.ts";
import type { Event } from "../../proto/schema/mod.ts";
import { CompactedError } from "../../proto/errors.ts";

const at = 5000;
const init = encodeCommand({
  kind: "cluster.init",
  at,
  cluster: {
    id: "c1",
    name: "c",
    createdAt: at,
    cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
  },
});
const create = (name: string): Uint8Array =>
  encodeCommand({ kind: "service.create", at, service: service(name) } as Command);

async function take(it: AsyncGenerator<Event>, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

Deno.test("store: watch replays history after an index, then streams live events", async () => {
  const st = new Store();
  st.apply(create("a"), 1);
  st.apply(create("b"), 2);
  const ac = new AbortController();
  const w = st.watch(1, { signal: ac.signal });
  const first = await take(w, 1);
  assert.deepEqual(first.map((e) => [e.index, e.kind, e.action]), [[2, "service", "create"]]);
  const next = take(w, 1);
  st.apply(create("c"), 3);
  assert.deepEqual((await next).map((e) => e.index), [3]);
  ac.abort();
  assert.equal((await w.next()).done, true);
  assert.equal(st.watcherCount, 0);
});

Deno.test("store: resuming from each index gives every later event exactly once", async () => {
  const st = new Store();
  for (let i = 1; i <= 20; i++) st.apply(create(`s${i}`), i);
  for (const from of [0, 5, 19]) {
    const ac = new AbortController();
    const got = await take(st.watch(from, { signal: ac.signal }), 20 - from);
    assert.deepEqual(
      got.map((e) => e.index),
      Array.from({ length: 20 - from }, (_, i) => from + i + 1),
    );
    ac.abort();
  }
});

Deno.test("store: history is bounded; resuming before it is refused with a clear error", async () => {
  const st = new Store({ historyEvents: 5 });
  for (let i = 1; i <= 12; i++) st.apply(create(`s${i}`), i);
  // At once, not at the first event: the API answers with a status, not a stream.
  assert.throws(
    () => st.watch(3),
    (err: unknown) =>
      err instanceof CompactedError && err.code === "compacted" &&
      err.message.startsWith(
        "events up to index 7 have been compacted (asked for those from 4); the oldest index " +
          "still available is 8",
      ),
  );
  assert.throws(() => st.watch(6), CompactedError);
  const ac = new AbortController();
  const got = await take(st.watch(7, { signal: ac.signal }), 5);
  assert.deepEqual(got.map((e) => e.index), [8, 9, 10, 11, 12]);
  ac.abort();
});

Deno.test("store: resuming from before a snapshot no event preceded gets every event", async () => {
  // A new cluster: its bootstrap snapshot (index 1) is of the empty state, no command applied.
  const boot = new Store().snapshot();
  const st = new Store();
  st.restore(boot, 1);
  st.apply(init, 2); // no event
  for (let i = 3; i <= 4; i++) st.apply(create(`s${i}`), i);
  const fromStart = async (store: Store) => {
    const ac = new AbortController();
    const got = await take(store.watch(0, { signal: ac.signal }), 2);
    ac.abort();
    return got.map((e) => e.index);
  };
  assert.deepEqual(await fromStart(st), [3, 4]);
  // A manager restarted from a snapshot taken before any event: the same.
  const early = new Store();
  early.restore(st.snapshot(), 4); // the snapshot names index 4 as its latest event
  assert.throws(() => early.watch(3), /events up to index 4 have been compacted/);
  const quiet = new Store();
  quiet.restore(boot, 1);
  quiet.apply(init, 2);
  const restarted = new Store();
  restarted.restore(quiet.snapshot(), 2);
  restarted.apply(create("s3"), 3);
  restarted.apply(create("s4"), 4);
  assert.deepEqual(await fromStart(restarted), [3, 4]);
  // A bootstrap snapshot from before the index was kept: nothing applied, nothing compacted.
  const { lastEventIndex: _, ...oldBoot } = JSON.parse(new TextDecoder().decode(boot));
  const old = new Store();
  old.restore(new TextEncoder().encode(JSON.stringify(oldBoot)), 1);
  old.apply(create("s2"), 2);
  const ac = new AbortController();
  assert.deepEqual((await take(old.watch(0, { signal: ac.signal }), 1)).map((e) => e.index), [2]);
  ac.abort();
  // Any other snapshot from before it: events up to its index may be gone.
  const { lastEventIndex: __, ...oldSnap } = JSON.parse(new TextDecoder().decode(st.snapshot()));
  const older = new Store();
  older.restore(new TextEncoder().encode(JSON.stringify(oldSnap)), 4);
  assert.throws(() => older.watch(3), CompactedError);
});

Deno.test("store: rejected commands still advance the index and emit nothing", () => {
  const st = new Store();
  st.apply(create("a"), 1);
  assert.throws(() => st.apply(create("a"), 2), /already exists/);
  assert.equal(st.index, 2);
  assert.equal(st.state.services.size, 1);
});

Deno.test("store: snapshot and restore round-trip the state", () => {
  const st = new Store();
  for (let i = 1; i <= 3; i++) st.apply(create(`s${i}`), i);
  const copy = new Store();
  copy.restore(st.snapshot(), 3);
  assert.deepEqual([...copy.state.serviceIdByName.keys()].sort(), ["s1", "s2", "s3"]);
  assert.equal(copy.index, 3);
});

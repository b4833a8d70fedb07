import assert from "node:assert/strict";
import { Store } from "./store.ts";
import { type Command, encodeCommand } from "./commands.ts";
import { service } from "./_fixtures_test_util.ts";
import type { Event } from "../../proto/schema/mod.ts";

const at = 5000;
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
  await assert.rejects(() => st.watch(3).next(), /no longer kept/);
  const ac = new AbortController();
  const got = await take(st.watch(7, { signal: ac.signal }), 5);
  assert.deepEqual(got.map((e) => e.index), [8, 9, 10, 11, 12]);
  ac.abort();
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

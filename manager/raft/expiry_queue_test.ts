import assert from "node:assert/strict";
import { ExpiryQueue } from "./expiry_queue.ts";

Deno.test("expiry queue: entries expire in order after the timeout; cancelled ones never", async () => {
  const q = new ExpiryQueue(20);
  const fired: string[] = [];
  const last = Promise.withResolvers<void>();
  const t0 = performance.now();
  q.add(() => fired.push("a"));
  const b = q.add(() => fired.push("b"));
  q.add(() => fired.push("c"));
  b.cancel();
  q.add(() => {
    fired.push("d");
    last.resolve();
  });
  await last.promise;
  assert.ok(performance.now() - t0 >= 19, "not before the timeout");
  assert.deepEqual(fired, ["a", "c", "d"]);
  assert.equal(q.size, 0);
});

Deno.test("expiry queue: a cancelled oldest entry does not hold back the next one", async () => {
  const q = new ExpiryQueue(30);
  const first = q.add(() => assert.fail("cancelled entry fired"));
  const done = Promise.withResolvers<void>();
  // The timer is armed for `first`; once it is cancelled, the timer must move on to this one.
  q.add(() => done.resolve());
  first.cancel();
  await done.promise;
  assert.equal(q.size, 0);
});

Deno.test("expiry queue: clear forgets every entry and the timer", async () => {
  const q = new ExpiryQueue(10);
  for (let i = 0; i < 5; i++) q.add(() => assert.fail("cleared entry fired"));
  q.clear();
  assert.equal(q.size, 0);
  // A fresh entry still works, and by the time it fires the cleared ones would have too.
  await new Promise<void>((r) => q.add(r));
});

Deno.test("expiry queue: answered calls do not accumulate", () => {
  const q = new ExpiryQueue(60_000);
  for (let i = 0; i < 10_000; i++) q.add(() => {}).cancel();
  assert.ok(q.size <= 1, `size ${q.size}`);
  q.clear();
});

import assert from "node:assert/strict";
import { decodeCommand, encodeCommand, KvStateMachine } from "./kv_state_machine.ts";

Deno.test("kv: put, get and cas", () => {
  const kv = new KvStateMachine();
  assert.deepEqual(kv.apply({ clientId: 1, requestId: 1, input: { op: "get", key: "x" } }), {
    value: null,
  });
  assert.deepEqual(
    kv.apply({ clientId: 1, requestId: 2, input: { op: "put", key: "x", value: "a" } }),
    { ok: true },
  );
  const cas = (requestId: number, expect: string | null, value: string) =>
    kv.apply({ clientId: 2, requestId, input: { op: "cas", key: "x", expect, value } });
  assert.deepEqual(cas(1, null, "b"), { ok: false });
  assert.deepEqual(cas(2, "a", "b"), { ok: true });
  assert.equal(kv.get("x"), "b");
});

Deno.test("kv: a retried request applies once and returns the first answer; stale retries do nothing", () => {
  const kv = new KvStateMachine();
  const cas = {
    clientId: 1,
    requestId: 5,
    input: { op: "cas" as const, key: "x", expect: null, value: "a" },
  };
  assert.deepEqual(kv.apply(cas), { ok: true });
  // Applied again (a retry committed twice): same answer, although the cas would now fail.
  assert.deepEqual(kv.apply(cas), { ok: true });
  kv.apply({ clientId: 1, requestId: 6, input: { op: "put", key: "x", value: "b" } });
  assert.equal(
    kv.apply({ ...cas, requestId: 4, input: { op: "put", key: "x", value: "old" } }),
    undefined,
  );
  assert.equal(kv.get("x"), "b");
});

Deno.test("kv: snapshot and restore keep data and sessions; the digest is canonical", () => {
  const a = new KvStateMachine();
  a.apply({ clientId: 2, requestId: 1, input: { op: "put", key: "y", value: "1" } });
  a.apply({ clientId: 1, requestId: 1, input: { op: "put", key: "x", value: "2" } });
  const b = new KvStateMachine();
  b.restore(a.snapshot());
  assert.equal(b.digest(), a.digest());
  assert.equal(b.get("y"), "1");
  // The session survived: a retry is not applied again.
  assert.deepEqual(
    b.apply({ clientId: 2, requestId: 1, input: { op: "put", key: "y", value: "1" } }),
    { ok: true },
  );
  b.restore(new Uint8Array());
  assert.equal(b.get("x"), null);
});

Deno.test("kv: commands round-trip through entry data", () => {
  const cmd = {
    clientId: 3,
    requestId: 9,
    input: { op: "cas" as const, key: "k", expect: null, value: "v" },
  };
  assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
});

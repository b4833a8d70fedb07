import assert from "node:assert/strict";
import fc from "fast-check";
import { checkLinearizable, type Operation } from "./linearizability.ts";
import { type KvInput, kvModel, type KvOutput } from "./kv_model.ts";

type Op = Operation<KvInput, KvOutput>;
const put = (c: number, key: string, value: string, callAt: number, returnAt: number): Op => ({
  clientId: c,
  input: { op: "put", key, value },
  output: { ok: true },
  callAt,
  returnAt,
});
const get = (
  c: number,
  key: string,
  value: string | null,
  callAt: number,
  returnAt: number,
): Op => ({ clientId: c, input: { op: "get", key }, output: { value }, callAt, returnAt });

Deno.test("linearizability: sequential history is accepted", () => {
  const h = [put(1, "x", "a", 0, 1), get(2, "x", "a", 2, 3), put(1, "x", "b", 4, 5)];
  assert.equal(checkLinearizable(kvModel, h).ok, true);
});

Deno.test("linearizability: a stale read after a completed write is rejected", () => {
  const h = [put(1, "x", "a", 0, 1), put(1, "x", "b", 2, 3), get(2, "x", "a", 4, 5)];
  const r = checkLinearizable(kvModel, h);
  assert.equal(r.ok, false);
});

Deno.test("linearizability: concurrent write may be seen either way, but consistently", () => {
  // put b overlaps both reads; reading b then a would need b to un-happen.
  const ok = [
    put(1, "x", "a", 0, 1),
    put(1, "x", "b", 2, 10),
    get(2, "x", "a", 3, 4),
    get(3, "x", "b", 5, 6),
  ];
  assert.equal(checkLinearizable(kvModel, ok).ok, true);
  const bad = [
    put(1, "x", "a", 0, 1),
    put(1, "x", "b", 2, 10),
    get(2, "x", "b", 3, 4),
    get(3, "x", "a", 5, 6),
  ];
  assert.equal(checkLinearizable(kvModel, bad).ok, false);
});

Deno.test("linearizability: an operation with unknown outcome may or may not have happened", () => {
  const lost: Op = { ...put(1, "x", "b", 2, Infinity), output: undefined };
  assert.equal(
    checkLinearizable(kvModel, [put(1, "x", "a", 0, 1), lost, get(2, "x", "a", 5, 6)]).ok,
    true,
  );
  assert.equal(
    checkLinearizable(kvModel, [put(1, "x", "a", 0, 1), lost, get(2, "x", "b", 5, 6)]).ok,
    true,
  );
  // ...but never takes effect before its call.
  assert.equal(
    checkLinearizable(kvModel, [put(1, "x", "a", 0, 1), get(2, "x", "b", 1.5, 1.8), lost]).ok,
    false,
  );
});

Deno.test("linearizability: cas outcomes must agree with the register", () => {
  const cas = (
    c: number,
    expect: string | null,
    value: string,
    ok: boolean,
    t0: number,
    t1: number,
  ): Op => ({
    clientId: c,
    input: { op: "cas", key: "k", expect, value },
    output: { ok },
    callAt: t0,
    returnAt: t1,
  });
  assert.equal(
    checkLinearizable(kvModel, [cas(1, null, "a", true, 0, 1), cas(2, null, "b", false, 2, 3)]).ok,
    true,
  );
  assert.equal(
    checkLinearizable(kvModel, [cas(1, null, "a", true, 0, 1), cas(2, null, "b", true, 2, 3)]).ok,
    false,
  );
});

Deno.test("linearizability: keys are independent partitions", () => {
  const h = [
    put(1, "x", "a", 0, 1),
    put(2, "y", "b", 0, 1),
    get(3, "x", "a", 2, 3),
    get(3, "y", "b", 4, 5),
  ];
  assert.equal(checkLinearizable(kvModel, h).ok, true);
  const bad = [...h, get(3, "y", null, 6, 7)];
  const r = checkLinearizable(kvModel, bad);
  assert.equal(r.ok, false);
  if (!r.ok) assert.ok(r.partition.every((o) => o.input.key === "y"));
});

Deno.test("linearizability: histories from a real sequential register always pass (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.constantFrom("a", "b", "c"), fc.nat(3)), {
        maxLength: 40,
      }),
      (steps) => {
        // Each op runs atomically at instant t, but is reported with a random overlap window.
        let reg: string | null = null;
        const ops: Op[] = steps.map(([isPut, v, widen], i) => {
          const t = i * 10;
          if (isPut) reg = v;
          return isPut
            ? put(i % 3, "k", v, t - widen, t + widen)
            : get(i % 3, "k", reg, t - widen, t + widen);
        });
        return checkLinearizable(kvModel, ops).ok;
      },
    ),
  );
});

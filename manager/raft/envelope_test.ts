import assert from "node:assert/strict";
import { openEnvelope, sealEnvelope } from "./envelope.ts";

Deno.test("envelope: round-trips proposer, sequence and payload", () => {
  const payload = new Uint8Array([1, 2, 3, 250]);
  const e = openEnvelope(sealEnvelope("mgr-ü-1", 123456789, payload));
  assert.deepEqual(e, { proposer: "mgr-ü-1", seq: 123456789, payload });
  assert.equal(openEnvelope(new Uint8Array()), undefined);
  assert.throws(() => openEnvelope(new Uint8Array([9, 0, 0])), /unknown version/);
});

Deno.test("envelope: alternating proposers each read back as themselves", () => {
  const ids = ["m1", "m2", "m1", "m10", "m1", "ü", "m1"];
  const sealed = ids.map((id, i) => sealEnvelope(id, i, new Uint8Array([i])));
  // Opened in another order than sealed, and each twice, so the cache is hit and replaced.
  for (const i of [3, 0, 0, 1, 5, 2, 6, 4, 5]) {
    const e = openEnvelope(sealed[i]);
    assert.equal(e?.proposer, ids[i]);
    assert.equal(e?.seq, i);
  }
});

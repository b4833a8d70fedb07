import assert from "node:assert/strict";
import { openEnvelope, sealEnvelope } from "./envelope.ts";

Deno.test("envelope: round-trips proposer, sequence and payload", () => {
  const payload = new Uint8Array([1, 2, 3, 250]);
  const e = openEnvelope(sealEnvelope("mgr-ü-1", 123456789, payload));
  assert.deepEqual(e, { proposer: "mgr-ü-1", seq: 123456789, payload });
  assert.equal(openEnvelope(new Uint8Array()), undefined);
  assert.throws(() => openEnvelope(new Uint8Array([9, 0, 0])), /unknown version/);
});

import assert from "node:assert/strict";
import { Metadata } from "@grpc/grpc-js";
import { ValidationError } from "../../proto/errors.ts";
import {
  newRequestId,
  parseRequestId,
  REQUEST_ID_KEY,
  requestIdMetadata,
  requestIdOf,
} from "./request_id.ts";

Deno.test("request id: new IDs are 128-bit base64url and valid on the wire", () => {
  const ids = new Set(Array.from({ length: 1000 }, newRequestId));
  assert.equal(ids.size, 1000);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(requestIdOf(requestIdMetadata(id)), id);
  }
  assert.equal(requestIdOf(requestIdMetadata(undefined)), undefined);
  assert.equal(requestIdOf(undefined), undefined);
});

Deno.test("request id: a malformed or contradictory ID is refused naming where it came from", () => {
  const md = new Metadata();
  md.set(REQUEST_ID_KEY, "short");
  assert.throws(
    () => requestIdOf(md),
    (e) => e instanceof ValidationError && e.field === REQUEST_ID_KEY,
  );
  assert.throws(
    () => parseRequestId(["request-aaaaaaaaaaaa", "request-bbbbbbbbbbbb"], "Idempotency-Key"),
    (e) => e instanceof ValidationError && e.field === "Idempotency-Key",
  );
  assert.equal(
    parseRequestId([
      "3f1c9a52-6a4e-4c1e-9d0b-2b7d1f0e5a11",
      "3f1c9a52-6a4e-4c1e-9d0b-2b7d1f0e5a11",
    ]),
    "3f1c9a52-6a4e-4c1e-9d0b-2b7d1f0e5a11",
    "a UUID, given twice alike",
  );
});

import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  CompactedError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RequestIdReusedError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../proto/errors.ts";
import { toHttpError } from "./status.ts";

Deno.test("http status: typed errors map to statuses with a JSON body naming the field", () => {
  const v = toHttpError(new ValidationError("replicas", "must be >= 0"));
  assert.equal(v.status, 400);
  assert.deepEqual(v.body, {
    error: {
      code: "invalid_argument",
      message: "replicas: must be >= 0",
      field: "replicas",
      retryable: false,
    },
  });
  assert.equal(toHttpError(new NotFoundError("service", "web")).status, 404);
  assert.equal(toHttpError(new AlreadyExistsError("service", "web")).status, 409);
  assert.equal(toHttpError(new UnavailableError("no quorum")).status, 503);
  assert.equal(toHttpError(new PayloadTooLargeError("request body is too large")).status, 413);
  assert.equal(toHttpError(new UnsupportedMediaTypeError("must be application/json")).status, 415);
  assert.equal(toHttpError(new MethodNotAllowedError("DELETE is not allowed")).status, 405);
  assert.equal(toHttpError(new TypeError("bug")).status, 500);
  // Gone, as Kubernetes answers a watch from a compacted resourceVersion.
  assert.equal(toHttpError(new CompactedError("events up to index 7")).status, 410);
  // Unprocessable Content, as the IETF idempotency-key draft answers a key reused for another
  // payload: the request is well-formed, and 400 would say it is not.
  const reused = toHttpError(new RequestIdReusedError('Idempotency-Key "k" was used for ...'));
  assert.equal(reused.status, 422);
  assert.deepEqual(reused.body.error, {
    code: "request_id_reused",
    message: 'Idempotency-Key "k" was used for ...',
    retryable: false,
  });
});

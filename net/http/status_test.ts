import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  CompactedError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
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
});

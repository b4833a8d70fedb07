import assert from "node:assert/strict";
import { Metadata, status as Status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  CompactedError,
  NotFoundError,
  NotLeaderError,
  RequestIdReusedError,
  UnavailableError,
  ValidationError,
  type WarrenError,
} from "../../proto/errors.ts";
import { fromGrpcError, toGrpcError } from "./status.ts";

function roundTrip(err: unknown): WarrenError {
  const wire = toGrpcError(err);
  const serviceError = Object.assign(new Error(wire.details), {
    code: wire.code!,
    details: wire.details!,
    metadata: wire.metadata ?? new Metadata(),
  }) as ServiceError;
  return fromGrpcError(serviceError);
}

Deno.test("grpc status: each typed error maps to its gRPC code", () => {
  assert.equal(
    toGrpcError(new ValidationError("replicas", "must be >= 0")).code,
    Status.INVALID_ARGUMENT,
  );
  assert.equal(toGrpcError(new NotFoundError("service", "web")).code, Status.NOT_FOUND);
  assert.equal(toGrpcError(new AlreadyExistsError("service", "web")).code, Status.ALREADY_EXISTS);
  assert.equal(toGrpcError(new UnavailableError("no quorum")).code, Status.UNAVAILABLE);
  assert.equal(toGrpcError(new Error("boom")).code, Status.INTERNAL);
  // As etcd answers a watch from a compacted revision.
  assert.equal(toGrpcError(new CompactedError("events up to index 7")).code, Status.OUT_OF_RANGE);
  // A request ID reused for another request: the argument is wrong for that ID.
  assert.equal(toGrpcError(new RequestIdReusedError("reused")).code, Status.INVALID_ARGUMENT);
});

Deno.test("grpc status: typed errors survive the wire with field and leader", () => {
  const v = roundTrip(new ValidationError("spec.ports[0].target", "must be 1..65535"));
  assert.ok(v instanceof ValidationError);
  assert.equal(v.field, "spec.ports[0].target");
  assert.equal(v.message, "spec.ports[0].target: must be 1..65535");
  const l = roundTrip(new NotLeaderError("mgr-2"));
  assert.ok(l instanceof NotLeaderError);
  assert.equal(l.leaderId, "mgr-2");
  assert.equal(l.retryable, true);
  const n = roundTrip(new NotFoundError("node", "n1"));
  assert.equal(n.code, "not_found");
  assert.equal(n.message, 'node "n1" not found');
});

Deno.test("grpc status: errors come back as instances of the class the server threw", () => {
  const e = roundTrip(new AlreadyExistsError("service", "web"));
  assert.ok(e instanceof AlreadyExistsError);
  assert.equal(e.message, 'service "web" already exists');
  assert.ok(roundTrip(new NotFoundError("node", "n")) instanceof NotFoundError);
  assert.ok(roundTrip(new UnavailableError("no quorum")) instanceof UnavailableError);
  const c = roundTrip(new CompactedError("events up to index 7 have been compacted"));
  assert.ok(c instanceof CompactedError);
  assert.deepEqual([c.code, c.retryable], ["compacted", false]);
  // INVALID_ARGUMENT on the wire, but not a ValidationError: the trailer's code tells them apart.
  const r = roundTrip(new RequestIdReusedError('warren-request-id "r" was used for ...'));
  assert.ok(r instanceof RequestIdReusedError);
  assert.ok(!(r instanceof ValidationError));
  assert.deepEqual([r.code, r.message], [
    "request_id_reused",
    'warren-request-id "r" was used for ...',
  ]);
});

Deno.test("grpc status: grpc-js's empty 'Resolution note:' tail is dropped from connection errors", () => {
  const details = "No connection established. Last error: Failed to connect. Resolution note: ";
  const err = Object.assign(new Error(`14 UNAVAILABLE: ${details}`), {
    code: Status.UNAVAILABLE,
    details,
    metadata: new Metadata(),
  }) as ServiceError;
  assert.equal(
    fromGrpcError(err).message,
    "No connection established. Last error: Failed to connect.",
  );
});

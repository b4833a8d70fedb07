/**
 * The one place where Warren's typed errors become gRPC statuses and back. Keyed on
 * `WarrenError.code`, never on message text.
 * @module
 */
import { Metadata, status as Status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import {
  type ErrorCode,
  NotLeaderError,
  toWarrenError,
  ValidationError,
  type WarrenError,
  warrenErrorFromCode,
} from "../../proto/errors.ts";

const TO_GRPC: Record<ErrorCode, Status> = {
  invalid_argument: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  failed_precondition: Status.FAILED_PRECONDITION,
  unavailable: Status.UNAVAILABLE,
  // A follower that cannot forward answers UNAVAILABLE: clients retry elsewhere.
  not_leader: Status.UNAVAILABLE,
  permission_denied: Status.PERMISSION_DENIED,
  unauthenticated: Status.UNAUTHENTICATED,
  resource_exhausted: Status.RESOURCE_EXHAUSTED,
  // What grpc-js itself answers for a message over max_receive_message_length.
  payload_too_large: Status.RESOURCE_EXHAUSTED,
  unsupported_media_type: Status.INVALID_ARGUMENT,
  // What grpc-js answers for a method a service does not have.
  method_not_allowed: Status.UNIMPLEMENTED,
  deadline_exceeded: Status.DEADLINE_EXCEEDED,
  internal: Status.INTERNAL,
  // As etcd answers a watch from a compacted revision.
  compacted: Status.OUT_OF_RANGE,
  // The request is wrong for the ID it carries; its own trailer code tells the two apart.
  request_id_reused: Status.INVALID_ARGUMENT,
};

/** Trailer keys that carry the typed error across the wire. */
const CODE_KEY = "warren-error-code";
const FIELD_KEY = "warren-error-field";
const LEADER_KEY = "warren-leader-id";

/** Turns any thrown value into a gRPC ServiceError with Warren's code in the trailers. */
export function toGrpcError(err: unknown): Partial<ServiceError> {
  const e = toWarrenError(err);
  const metadata = new Metadata();
  metadata.set(CODE_KEY, e.code);
  if (e instanceof ValidationError) metadata.set(FIELD_KEY, e.field);
  if (e instanceof NotLeaderError && e.leaderId) metadata.set(LEADER_KEY, e.leaderId);
  return { code: TO_GRPC[e.code], details: e.message, metadata };
}

const FROM_GRPC: Partial<Record<Status, ErrorCode>> = {
  [Status.INVALID_ARGUMENT]: "invalid_argument",
  [Status.NOT_FOUND]: "not_found",
  [Status.ALREADY_EXISTS]: "already_exists",
  [Status.FAILED_PRECONDITION]: "failed_precondition",
  [Status.UNAVAILABLE]: "unavailable",
  [Status.PERMISSION_DENIED]: "permission_denied",
  [Status.UNAUTHENTICATED]: "unauthenticated",
  [Status.RESOURCE_EXHAUSTED]: "resource_exhausted",
  [Status.DEADLINE_EXCEEDED]: "deadline_exceeded",
};

const KNOWN_CODES = new Set<string>(Object.keys(TO_GRPC));

/**
 * Whether `err` (from {@link fromGrpcError}) is an answer of a Warren server, not a transport
 * failure (connection refused, TLS, deadline on the wire): only servers set the code trailer.
 */
export function answeredByServer(err: WarrenError): boolean {
  const cause = err.cause as Partial<ServiceError> | undefined;
  return (cause?.metadata?.get?.(CODE_KEY).length ?? 0) > 0;
}

/** Turns a gRPC client error back into the typed Warren error the server threw. */
export function fromGrpcError(err: ServiceError): WarrenError {
  const fromTrailer = err.metadata?.get(CODE_KEY)[0]?.toString();
  const code: ErrorCode = fromTrailer && KNOWN_CODES.has(fromTrailer)
    ? fromTrailer as ErrorCode
    : FROM_GRPC[err.code as Status] ?? "internal";
  // grpc-js ends connection errors with "Resolution note: " and nothing after it.
  const message = (err.details || err.message).replace(/\s*Resolution note:\s*$/, "");
  if (code === "invalid_argument") {
    const field = err.metadata?.get(FIELD_KEY)[0]?.toString() ?? "";
    const reason = field && message.startsWith(`${field}: `)
      ? message.slice(field.length + 2)
      : message;
    return new ValidationError(field, reason, { cause: err });
  }
  if (code === "not_leader") {
    return new NotLeaderError(err.metadata?.get(LEADER_KEY)[0]?.toString(), { cause: err });
  }
  const retryable = code === "unavailable" || code === "deadline_exceeded";
  return warrenErrorFromCode(code, message, { cause: err, retryable });
}

/**
 * Warren's operational errors: one small hierarchy, mapped to gRPC status codes and HTTP statuses
 * in exactly one place each (net/grpc/status.ts, net/http/status.ts), never by message text.
 *
 * Broken invariants are not errors of this kind: they `assert` and crash.
 * Messages say what failed and why, e.g. `Cannot schedule task "web.1": no node has 2 GiB memory free`.
 */

/** Machine-readable error kinds. Never rename one: clients and status mappings key on them. */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "unavailable"
  | "not_leader"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "payload_too_large"
  | "unsupported_media_type"
  | "method_not_allowed"
  | "deadline_exceeded"
  | "internal"
  | "compacted"
  | "request_id_reused";

/** Options shared by every Warren error. */
export interface WarrenErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** Whether the same call may succeed if repeated later (e.g. after a leader election). */
  retryable?: boolean;
}

/** Base class of Warren's operational errors. */
export class WarrenError extends Error {
  /** Machine-readable kind, the key for status mappings. */
  readonly code: ErrorCode;
  /** Whether the same call may succeed if repeated later. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: WarrenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A request field is missing or malformed. `field` is its dotted path, e.g. `spec.replicas`. */
export class ValidationError extends WarrenError {
  /** Dotted path of the offending field, e.g. `spec.ports[0].target`. */
  readonly field: string;
  constructor(field: string, reason: string, options: WarrenErrorOptions = {}) {
    super("invalid_argument", field ? `${field}: ${reason}` : reason, options);
    this.field = field;
  }
}

/** The named object does not exist. */
export class NotFoundError extends WarrenError {
  constructor(kind: string, name: string, options: WarrenErrorOptions = {}) {
    super("not_found", `${kind} "${name}" not found`, options);
  }
}

/**
 * The node is not (or no longer) a member of the cluster: it left or was removed. A definitive
 * answer (code `not_found`), unlike an outage: retrying with the same identity cannot succeed.
 */
export class NotMemberError extends WarrenError {
  constructor(nodeId: string, options: WarrenErrorOptions = {}) {
    super(
      "not_found",
      `node ${nodeId} is not a member of this cluster (it left or was removed): join again with a token from 'warren cluster join-token worker'`,
      options,
    );
  }
}

/** An object with that name or ID exists already. */
export class AlreadyExistsError extends WarrenError {
  constructor(kind: string, name: string, options: WarrenErrorOptions = {}) {
    super("already_exists", `${kind} "${name}" already exists`, options);
  }
}

/** The request is well-formed but the current state does not allow it (e.g. volume in use). */
export class FailedPreconditionError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("failed_precondition", message, options);
  }
}

/** This manager is not the Raft leader; `leaderId` names the leader when known. */
export class NotLeaderError extends WarrenError {
  readonly leaderId: string | undefined;
  constructor(leaderId?: string, options: WarrenErrorOptions = {}) {
    super(
      "not_leader",
      leaderId ? `not the leader; the leader is ${leaderId}` : "not the leader; no leader is known",
      { retryable: true, ...options },
    );
    this.leaderId = leaderId;
  }
}

/** The service cannot answer now (no quorum, shutting down, a dependency down). */
export class UnavailableError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("unavailable", message, { retryable: true, ...options });
  }
}

/** The caller is authenticated but its role may not do this. */
export class PermissionDeniedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("permission_denied", message, options);
  }
}

/** The caller could not be authenticated (no, expired or foreign certificate; bad token). */
export class UnauthenticatedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("unauthenticated", message, options);
  }
}

/** A bounded resource ran out (address pool, queue, quota). */
export class ResourceExhaustedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("resource_exhausted", message, options);
  }
}

/** A request (REST body, gRPC message) is larger than the API accepts; sending it again fails too. */
export class PayloadTooLargeError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("payload_too_large", message, options);
  }
}

/** A request body is in a format the API does not read (REST bodies must be JSON). */
export class UnsupportedMediaTypeError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("unsupported_media_type", message, options);
  }
}

/** The resource exists but does not take this method (REST: `DELETE /v1/cluster`). */
export class MethodNotAllowedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("method_not_allowed", message, options);
  }
}

/** The operation did not finish within its deadline. */
export class DeadlineExceededError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("deadline_exceeded", message, { retryable: true, ...options });
  }
}

/**
 * What was asked for is older than what is kept: events compacted away (etcd's "required
 * revision has been compacted"). Asking again the same way fails again; the message names the
 * oldest index still available, and the client lists the objects and resumes from there.
 */
export class CompactedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("compacted", message, options);
  }
}

/**
 * A write's request ID (REST `Idempotency-Key`, gRPC `warren-request-id`) came with a different
 * request than the one it was first used for: answering with the first request's outcome would
 * tell the client that a write succeeded that was never applied (the IETF idempotency-key draft
 * answers 422). Sending it again fails again; a new request needs a new ID.
 */
export class RequestIdReusedError extends WarrenError {
  constructor(message: string, options: WarrenErrorOptions = {}) {
    super("request_id_reused", message, options);
  }
}

/** Narrows an unknown thrown value to a Warren error, wrapping anything else as `internal`. */
export function toWarrenError(err: unknown): WarrenError {
  if (err instanceof WarrenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WarrenError("internal", message, { cause: err });
}

const CLASS_OF_CODE: Partial<Record<ErrorCode, { prototype: WarrenError; name: string }>> = {
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  failed_precondition: FailedPreconditionError,
  unavailable: UnavailableError,
  permission_denied: PermissionDeniedError,
  unauthenticated: UnauthenticatedError,
  resource_exhausted: ResourceExhaustedError,
  payload_too_large: PayloadTooLargeError,
  unsupported_media_type: UnsupportedMediaTypeError,
  method_not_allowed: MethodNotAllowedError,
  deadline_exceeded: DeadlineExceededError,
  compacted: CompactedError,
  request_id_reused: RequestIdReusedError,
};

/**
 * Rebuilds a typed error received over the wire (code + message), as an instance of the class
 * the sender threw, so callers can use `instanceof`. The message is kept verbatim.
 */
export function warrenErrorFromCode(
  code: ErrorCode,
  message: string,
  options: WarrenErrorOptions = {},
): WarrenError {
  const e = new WarrenError(code, message, options);
  const cls = CLASS_OF_CODE[code];
  if (cls) {
    Object.setPrototypeOf(e, cls.prototype);
    e.name = cls.name;
  }
  return e;
}

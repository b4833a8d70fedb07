/**
 * The one place where Warren's typed errors become HTTP statuses and JSON bodies.
 * @module
 */
import { type ErrorCode, toWarrenError, ValidationError } from "../../proto/errors.ts";

const TO_HTTP: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  internal: 500,
  unavailable: 503,
  not_leader: 503,
  deadline_exceeded: 504,
  // Gone: as Kubernetes answers a watch from a compacted resourceVersion.
  compacted: 410,
  // Unprocessable Content: what the IETF idempotency-key draft answers for a key reused with
  // another payload (a 400 would read as a malformed request, which it is not).
  request_id_reused: 422,
};

/** The JSON body of every REST error. */
export interface HttpErrorBody {
  error: { code: ErrorCode; message: string; field?: string; retryable: boolean };
}

/** Maps any thrown value to an HTTP status and a JSON error body. */
export function toHttpError(err: unknown): { status: number; body: HttpErrorBody } {
  const e = toWarrenError(err);
  const body: HttpErrorBody = {
    error: { code: e.code, message: e.message, retryable: e.retryable },
  };
  if (e instanceof ValidationError) body.error.field = e.field;
  return { status: TO_HTTP[e.code], body };
}

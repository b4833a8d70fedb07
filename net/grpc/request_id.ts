/**
 * Request IDs on the wire: a client tags each logical write with a random ID, sent as gRPC
 * metadata on every attempt of it (a failover to another manager included), and managers answer
 * a repeat of an ID that applied already with the first outcome (manager/state/fsm_requests.ts).
 * @module
 */
import { Metadata } from "@grpc/grpc-js";
import { encodeBase64Url } from "../../proto/schema/base64.ts";
import { parseOrThrow, RequestIdSchema } from "../../proto/schema/mod.ts";
import { ValidationError } from "../../proto/errors.ts";

/** The metadata key (and HTTP header) that carries a write's request ID. */
export const REQUEST_ID_KEY = "warren-request-id";

/**
 * A new request ID: 128 random bits (crypto), base64url, 22 characters. Made once per logical
 * call and kept for all of its attempts.
 */
export function newRequestId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

/** Metadata carrying `requestId` (empty metadata without one). */
export function requestIdMetadata(requestId: string | undefined): Metadata {
  const md = new Metadata();
  if (requestId !== undefined) md.set(REQUEST_ID_KEY, requestId);
  return md;
}

/**
 * The request ID a call carries, undefined when it has none.
 * @throws ValidationError when it is malformed or given more than once
 */
export function requestIdOf(metadata: Metadata | undefined): string | undefined {
  const values = metadata?.get(REQUEST_ID_KEY) ?? [];
  if (values.length === 0) return undefined;
  return parseRequestId(values.map((v) => v.toString()));
}

/**
 * One request ID from the values a request gave for it (several headers may carry it; they must
 * agree), undefined for none.
 * @throws ValidationError naming `field` when malformed or not all the same
 */
export function parseRequestId(
  values: readonly string[],
  field: string = REQUEST_ID_KEY,
): string | undefined {
  if (values.length === 0) return undefined;
  if (values.some((v) => v !== values[0])) {
    throw new ValidationError(field, "must name one request, not several different ones");
  }
  return parseOrThrow(RequestIdSchema, values[0], field);
}

/**
 * Reading a REST request body (private to rest.ts): a JSON object only, never more than a limit, refused
 * before reading when the request says it is larger, so an oversized body costs no memory.
 * @module
 */
import {
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../proto/errors.ts";

/**
 * The JSON object in `req`'s body (every REST body is one: a spec, an update, a request).
 * @throws UnsupportedMediaTypeError unless `Content-Type` is `application/json`
 * @throws PayloadTooLargeError when `Content-Length` or the bytes read exceed `maxBytes`
 * @throws ValidationError when the body is not a JSON object
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  // A form or text body is not read as JSON even when it parses as JSON: a web form (or
  // `curl -d`) must not drive the API by accident.
  const type = req.headers.get("content-type");
  if ((type ?? "").split(";")[0]?.trim().toLowerCase() !== "application/json") {
    throw new UnsupportedMediaTypeError(
      `${
        type === null ? "no Content-Type" : `Content-Type "${type}"`
      }: request bodies must be application/json`,
    );
  }
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const text = await readCapped(req.body, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError("body", "must be a JSON object (it is not valid JSON)");
  }
  // Else `5`, `[5]` or `null` would read as an object without fields: "replicas: is required".
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new ValidationError("body", `must be a JSON object, not ${kind}`);
  }
  return value;
}

/** The body as text, reading at most `maxBytes` (a chunked body has no length to check first). */
async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<string> {
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      size += r.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge(maxBytes);
      }
      chunks.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  const mib = maxBytes % (1 << 20) === 0 ? ` (${maxBytes / (1 << 20)} MiB)` : "";
  return new PayloadTooLargeError(
    `request body is too large: the API accepts at most ${maxBytes} bytes${mib}`,
  );
}

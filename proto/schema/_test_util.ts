/** Test helper: asserts that parsing fails with a ValidationError at `field` for `reason`. */
import assert from "node:assert/strict";
import type { z } from "zod";
import { ValidationError } from "../errors.ts";
import { parseOrThrow } from "./parse.ts";

/** Parses `value` and asserts the ValidationError's field and that its message matches `reason`. */
export function assertInvalid(
  schema: z.ZodType,
  value: unknown,
  field: string,
  reason: RegExp,
  rootField?: string,
): ValidationError {
  let error: unknown;
  try {
    parseOrThrow(schema, value, rootField);
  } catch (err) {
    error = err;
  }
  assert.ok(
    error instanceof ValidationError,
    `expected a ValidationError at ${field} for ${
      JSON.stringify(value)?.slice(0, 200)
    }, got ${error}`,
  );
  assert.equal(error.field, field, `field of: ${error.message}`);
  assert.match(error.message, reason);
  assert.ok(error.message.startsWith(`${field}: `), `message names the field: ${error.message}`);
  assert.equal(error.code, "invalid_argument");
  return error;
}

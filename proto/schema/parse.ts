/**
 * The one bridge from zod to Warren's errors: a failed parse becomes a ValidationError whose
 * `field` is the dotted path of the first issue (`spec.ports[0].target`), so every caller (REST,
 * gRPC, CLI) reports invalid input the same way.
 */
import type { z } from "zod";
import { ValidationError } from "../errors.ts";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a zod issue path: identifiers as `.name`, numbers as `[i]`, other keys (e.g. label
 * keys with dots) as `["key"]`. `root` is prefixed when given.
 */
export function formatPath(path: readonly PropertyKey[], root = ""): string {
  let out = root;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A zod issue in the shape this module reads (kept structural so zod internals can change). */
interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  issues?: IssueLike[];
  expected?: unknown;
  keys?: string[];
}

/** The value at `path` inside `root`, or undefined when the path does not exist. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Turns a zod issue into a short human reason; `input` is the parsed value, when known. */
function reasonOf(issue: IssueLike, input?: { value: unknown }): string {
  if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) {
    return "is required";
  }
  // A missing enum value fails as "invalid option"; say what actually went wrong.
  if (issue.code === "invalid_value" && input && valueAt(input.value, issue.path) === undefined) {
    return "is required";
  }
  if (issue.code === "invalid_key" && issue.issues?.[0]) {
    return `key ${reasonOf(issue.issues[0]).replace(/^Invalid string: /, "")}`;
  }
  return issue.message;
}

/**
 * Converts a ZodError (its first issue) into a ValidationError. Pass `input` (the value that was
 * parsed) so a missing enum value reads "is required" rather than "invalid option".
 */
export function toValidationError(
  error: z.ZodError,
  rootField?: string,
  input?: { value: unknown },
): ValidationError {
  const issue = error.issues[0] as unknown as IssueLike | undefined;
  if (!issue) return new ValidationError(rootField ?? "", "is invalid", { cause: error });
  if (issue.code === "unrecognized_keys" && issue.keys?.[0] !== undefined) {
    // Name the unknown field itself, so `replica: 3` reports `spec.replica`, not `spec`.
    const field = formatPath([...issue.path, issue.keys[0]], rootField);
    return new ValidationError(field, "is not a known field", { cause: error });
  }
  return new ValidationError(formatPath(issue.path, rootField), reasonOf(issue, input), {
    cause: error,
  });
}

/**
 * Parses `value` with `schema`; on failure throws a ValidationError naming the dotted path of
 * the first issue (prefixed with `rootField`, e.g. `spec`) and the reason.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  rootField?: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw toValidationError(result.error, rootField, { value });
}

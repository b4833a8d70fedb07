import assert from "node:assert/strict";
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { formatPath, parseOrThrow } from "./parse.ts";

Deno.test("formatPath: dots, indexes and quoted keys", () => {
  assert.equal(formatPath(["spec", "ports", 0, "target"]), "spec.ports[0].target");
  assert.equal(formatPath(["ports", 0], "spec"), "spec.ports[0]");
  assert.equal(formatPath([0, "a"]), "[0].a");
  assert.equal(formatPath(["labels", "com.example/x"]), 'labels["com.example/x"]');
  assert.equal(formatPath([], "spec"), "spec");
  assert.equal(formatPath([]), "");
});

const Schema = z.strictObject({
  name: z.string().min(1, "must not be empty"),
  kind: z.enum(["a", "b"]),
  items: z.array(z.object({ n: z.number().int().min(1) })).default([]),
});

function errorOf(value: unknown, root?: string): ValidationError {
  try {
    parseOrThrow(Schema, value, root);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err;
  }
  throw new Error("expected a ValidationError");
}

Deno.test("parseOrThrow returns parsed output with defaults", () => {
  assert.deepEqual(parseOrThrow(Schema, { name: "x", kind: "a" }), {
    name: "x",
    kind: "a",
    items: [],
  });
});

Deno.test("parseOrThrow: field is the dotted path of the first issue; message names it", () => {
  const e = errorOf({ name: "x", kind: "a", items: [{ n: 1 }, { n: 0 }] }, "spec");
  assert.equal(e.field, "spec.items[1].n");
  assert.match(e.message, /^spec\.items\[1\]\.n: Too small/);
  assert.equal(e.code, "invalid_argument");
  assert.ok(e.cause instanceof z.ZodError);
});

Deno.test("parseOrThrow: missing fields read 'is required', also for enums", () => {
  assert.equal(errorOf({ kind: "a" }).message, "name: is required");
  assert.equal(errorOf({ name: "x" }).message, "kind: is required");
  assert.match(errorOf({ name: "x", kind: "c" }).message, /^kind: Invalid option/);
});

Deno.test("parseOrThrow: unknown fields are named", () => {
  const e = errorOf({ name: "x", kind: "a", extra: 1 }, "body");
  assert.equal(e.field, "body.extra");
  assert.equal(e.message, "body.extra: is not a known field");
});

Deno.test("parseOrThrow: a non-object root has an empty field unless rootField is given", () => {
  assert.equal(errorOf(42).field, "");
  assert.equal(errorOf(42, "spec").field, "spec");
});

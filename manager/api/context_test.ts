import assert from "node:assert/strict";
import { idByPrefix, resolve } from "./context.ts";
import { NotFoundError, ValidationError } from "../../proto/errors.ts";

Deno.test("resolve: by ID, by name, by a unique ID prefix of two or more characters", () => {
  const byId = new Map([["abc123", "web"], ["abd456", "db"], ["xyz789", "cache"]]);
  const byName = new Map([["web", "abc123"], ["db", "abd456"], ["cache", "xyz789"]]);
  const find = (ref: string) => resolve(byId, byName, ref, "service");
  assert.equal(find("abd456"), "db");
  assert.equal(find("cache"), "cache");
  assert.equal(find("xy"), "cache");
  assert.equal(find("abc"), "web");
  assert.throws(() => find("x"), NotFoundError, "one character is not a prefix");
  assert.throws(() => find("zz"), NotFoundError);
  assert.throws(
    () => find("ab"),
    (err) =>
      err instanceof ValidationError &&
      err.message === 'service: ID prefix "ab" is ambiguous: 2 services have it ' +
          "(abc123, abd456); give more of the ID",
  );
  // A name wins over an ID prefix it happens to be.
  byName.set("ab", "xyz789");
  assert.equal(find("ab"), "cache");
  assert.equal(idByPrefix([], "ab", "task"), undefined);
});

import assert from "node:assert/strict";
import { ValidationError } from "../proto/errors.ts";
import { parseRegistryAuth } from "./registry_auth.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("registry auth: JSON, Docker's auth field, and user:password", () => {
  const want = { username: "ci", password: "p:a:ss" };
  assert.deepEqual(parseRegistryAuth(enc(JSON.stringify(want)), "s"), want);
  assert.deepEqual(parseRegistryAuth(enc(`{"auth":"${btoa("ci:p:a:ss")}"}`), "s"), want);
  assert.deepEqual(parseRegistryAuth(enc("ci:p:a:ss\n"), "s"), want);
});

Deno.test("registry auth: anything else names the field and the secret", () => {
  for (const bad of ["nocolon", ":nouser", "{not json", '{"user":"x"}', '{"auth":"***"}']) {
    assert.throws(
      () => parseRegistryAuth(enc(bad), "reg"),
      (e) =>
        e instanceof ValidationError && e.field === "registryAuthSecret" && /"reg"/.test(e.message),
      bad,
    );
  }
});

import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { parseReference } from "./reference.ts";

const D = "sha256:" + "a".repeat(64);

Deno.test("parseReference: registry with port, nested repository, tag", () => {
  assert.deepEqual(parseReference("127.0.0.1:5000/warren/http:v1"), {
    registry: "127.0.0.1:5000",
    repository: "warren/http",
    tag: "v1",
    digest: undefined,
    name: "127.0.0.1:5000/warren/http:v1",
  });
});

Deno.test("parseReference: Docker Hub short names get docker.io, library/ and latest", () => {
  const r = parseReference("busybox");
  assert.equal(r.registry, "docker.io");
  assert.equal(r.repository, "library/busybox");
  assert.equal(r.tag, "latest");
  assert.equal(r.name, "docker.io/library/busybox:latest");
  assert.equal(parseReference("me/app:1.0").repository, "me/app");
});

Deno.test("parseReference: digest pins, with or without tag", () => {
  const r = parseReference(`localhost:5000/app@${D}`);
  assert.equal(r.registry, "localhost:5000");
  assert.equal(r.tag, undefined);
  assert.equal(r.digest, D);
  assert.equal(r.name, `localhost:5000/app@${D}`);
  assert.equal(parseReference(`reg.example.com/app:v2@${D}`).tag, "v2");
});

Deno.test("parseReference: a first component without . or : is a path, not a host", () => {
  const r = parseReference("warren/http:v1");
  assert.equal(r.registry, "docker.io");
  assert.equal(r.repository, "warren/http");
});

Deno.test("parseReference: rejects malformed references with the field name", () => {
  for (const bad of ["", "UPPER/case", "app:bad tag", "app@sha256:short", "a//b", "app:"]) {
    assert.throws(() => parseReference(bad, "spec.image"), (err) => {
      assert.ok(err instanceof ValidationError, `${bad}: ${err}`);
      assert.equal(err.field, "spec.image");
      return true;
    });
  }
});

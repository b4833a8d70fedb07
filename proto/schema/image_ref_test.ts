import assert from "node:assert/strict";
import { formatImageRef, normalizeImageRef, parseImageRef } from "./image_ref.ts";

const D = "sha256:" + "a".repeat(64);

Deno.test("parseImageRef accepts valid references", () => {
  assert.deepEqual(parseImageRef("busybox"), { path: "busybox" });
  assert.deepEqual(parseImageRef("busybox:1.36"), { path: "busybox", tag: "1.36" });
  assert.deepEqual(parseImageRef("library/busybox"), { path: "library/busybox" });
  assert.deepEqual(parseImageRef("127.0.0.1:5000/team/web:v1"), {
    domain: "127.0.0.1:5000",
    path: "team/web",
    tag: "v1",
  });
  assert.deepEqual(parseImageRef("localhost/web"), { domain: "localhost", path: "web" });
  assert.deepEqual(parseImageRef(`web@${D}`), { path: "web", digest: D });
  assert.deepEqual(parseImageRef(`r.io/a/b:t@${D}`), {
    domain: "r.io",
    path: "a/b",
    tag: "t",
    digest: D,
  });
  assert.deepEqual(parseImageRef("my_org/my-app__x.y"), { path: "my_org/my-app__x.y" });
});

Deno.test("parseImageRef rejects malformed references with a reason", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["Busybox", /path component "Busybox"/],
    ["busybox:", /tag ""/],
    ["busybox:.x", /tag/],
    ["a//b", /path component ""/],
    ["web@sha256:abc", /digest/],
    ["web@md5", /digest/],
    ["r.io:99999/web", /port/],
    ["-r.io/web", /path component "-r.io"|registry/],
    ["x".repeat(256), /at most 255/],
    ["web:" + "t".repeat(129), /tag/],
  ];
  for (const [ref, reason] of bad) {
    const r = parseImageRef(ref);
    assert.equal(typeof r, "string", `${ref} should be rejected`);
    assert.match(r as string, reason, ref);
  }
});

Deno.test("formatImageRef inverts parseImageRef; normalizeImageRef fills Docker defaults", () => {
  for (const ref of ["busybox", "r.io:5000/a/b:t", `r.io/a@${D}`, `a:t@${D}`]) {
    const parsed = parseImageRef(ref);
    assert.ok(typeof parsed !== "string");
    assert.equal(formatImageRef(parsed), ref);
  }
  assert.deepEqual(normalizeImageRef({ path: "busybox" }), {
    domain: "docker.io",
    path: "library/busybox",
    tag: "latest",
  });
  assert.deepEqual(normalizeImageRef({ domain: "r.io", path: "web", digest: D }), {
    domain: "r.io",
    path: "web",
    digest: D,
  });
});

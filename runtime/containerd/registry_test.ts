import assert from "node:assert/strict";
import { isLoopbackHost, parseChallenge, RegistryClient } from "./registry.ts";
import { NotFoundError } from "../../proto/errors.ts";

Deno.test("parseChallenge: bearer with quoted params containing commas", () => {
  const c = parseChallenge(
    'Bearer realm="http://127.0.0.1:9/token",service="reg",scope="repository:a/b:pull,push"',
  );
  assert.equal(c.scheme, "bearer");
  assert.deepEqual(c.params, {
    realm: "http://127.0.0.1:9/token",
    service: "reg",
    scope: "repository:a/b:pull,push",
  });
});

Deno.test("parseChallenge: basic, and garbage", () => {
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {
    scheme: "basic",
    params: { realm: "Registry Realm" },
  });
  assert.deepEqual(parseChallenge(""), { scheme: "", params: {} });
});

Deno.test("isLoopbackHost: only loopback names and addresses", () => {
  for (
    const h of ["localhost", "localhost:5000", "127.0.0.1", "127.3.2.1:80", "[::1]:5000", "::1"]
  ) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ["10.0.0.1:5000", "registry.example.com", "128.0.0.1", "localhost.evil.com"]) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});

Deno.test("RegistryClient: a missing tag or digest is named as users write it", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("{}", { status: 404 }),
  );
  const c = new RegistryClient(`127.0.0.1:${server.addr.port}`, "warren/http");
  await assert.rejects(c.getManifest("nosuch"), (err) => {
    assert.ok(err instanceof NotFoundError, String(err));
    assert.match(err.message, /"127\.0\.0\.1:\d+\/warren\/http:nosuch"/);
    return true;
  });
  const digest = `sha256:${"ab".repeat(32)}`;
  await assert.rejects(c.getManifest(digest), (err) => {
    assert.match((err as Error).message, new RegExp(`warren/http@${digest}`));
    return true;
  });
});

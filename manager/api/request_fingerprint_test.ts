import assert from "node:assert/strict";
import { canonicalJson, requestFingerprint } from "./request_fingerprint.ts";
import { RequestFingerprintSchema } from "../state/commands.ts";

Deno.test("request fingerprint: pinned, so managers of one level fingerprint a retry alike", () => {
  // SHA-256 of `{"kind":"service.scale","request":{"id":"web","replicas":3}}`, its first 16
  // bytes in base64url (checked with sha256sum). A change here is a change of what a retry
  // served by another binary fingerprints to: it would be refused as another request.
  const fp = requestFingerprint("service.scale", { replicas: 3, id: "web" });
  assert.equal(fp, "sDmhor3g10srVPaBt_xm1Q");
  assert.ok(RequestFingerprintSchema.safeParse(fp).success, "what commands carry");
});

Deno.test("request fingerprint: equal requests alike whatever their key order; any difference differs", () => {
  const spec = { name: "web", image: "registry.local/web:1", labels: { a: "1", b: "2" } };
  const fp = requestFingerprint("service.create", { spec });
  const reordered = { labels: { b: "2", a: "1" }, image: "registry.local/web:1", name: "web" };
  assert.equal(requestFingerprint("service.create", { spec: reordered }), fp);
  assert.equal(
    requestFingerprint("service.create", { spec: { ...spec, note: undefined } }),
    fp,
    "an undefined property is an absent one",
  );
  const others = [
    requestFingerprint("service.create", { spec: { ...spec, image: "registry.local/web:2" } }),
    requestFingerprint("service.create", { spec: { ...spec, labels: { a: "1" } } }),
    requestFingerprint("service.update", { spec }),
    requestFingerprint("service.create", { spec, force: false }),
  ];
  assert.equal(new Set([fp, ...others]).size, 5);
});

Deno.test("request fingerprint: canonical JSON of plain data; anything else is a handler's mistake", () => {
  assert.equal(
    canonicalJson({ z: [1, "x", null, true, undefined, { b: 1, a: 2 }], a: {} }),
    '{"a":{},"z":[1,"x",null,true,null,{"a":2,"b":1}]}',
  );
  assert.equal(canonicalJson(Object.assign(Object.create(null), { k: "v" })), '{"k":"v"}');
  for (const bad of [new Map(), new Date(0), 1n, NaN, () => 1, new Uint8Array(1)]) {
    assert.throws(() => canonicalJson({ bad }), TypeError, String(bad));
  }
});

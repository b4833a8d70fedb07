import assert from "node:assert/strict";
import { createRootCa, exportKeyPem, generateKeyPair } from "../../manager/security/mod.ts";
import { certDer, certValidity, derToPem, pemToDer } from "./pem.ts";

Deno.test("pem: DER survives a round trip through PEM, 64-character lines", () => {
  const der = new Uint8Array(200).map((_, i) => (i * 37) & 0xff);
  const pem = derToPem(der, "PRIVATE KEY");
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(pem.split("\n").every((l) => l.length <= 64));
  assert.deepEqual(pemToDer(pem, "PRIVATE KEY"), der);
  assert.deepEqual(pemToDer(`junk\r\n${pem.replaceAll("\n", "\r\n")}more`, "PRIVATE KEY"), der);
});

Deno.test("pem: a missing block or a body that is not base64 is refused", () => {
  assert.throws(() => pemToDer("nope", "PRIVATE KEY"), /no PEM block "PRIVATE KEY"/);
  const bad = "-----BEGIN CERTIFICATE-----\n*&^\n-----END CERTIFICATE-----\n";
  assert.throws(() => pemToDer(bad, "CERTIFICATE"), /not base64/);
  assert.throws(() => certDer(bad));
});

Deno.test("pem: certificate validity and DER as the CA wrote them", async () => {
  const now = Date.UTC(2026, 0, 1);
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now });
  const v = certValidity(ca.certPem);
  assert.equal(v.notAfter, now + 3_600_000);
  assert.ok(v.notBefore < now);
  assert.deepEqual(certDer(ca.certPem), pemToDer(ca.certPem, "CERTIFICATE"));
  const key = await exportKeyPem((await generateKeyPair()).privateKey);
  assert.equal(pemToDer(key, "PRIVATE KEY")[0], 0x30); // a DER SEQUENCE
});

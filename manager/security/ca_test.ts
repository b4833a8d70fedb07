import assert from "node:assert/strict";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import {
  caDigest,
  createCsr,
  createRootCa,
  exportKeyPem,
  generateKeyPair,
  importKeyPairPem,
  MANAGER_SAN,
  parseCert,
  signCsr,
  verifyCert,
} from "./ca.ts";

const NOW = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;
const MIN = 60_000;

async function issue(
  ca: { certPem: string; keyPem: string },
  opts: { nodeId?: string; role?: "manager" | "worker" | "admin"; now?: number; life?: number },
) {
  const keyPair = await generateKeyPair();
  return await signCsr({
    ca,
    csrPem: await createCsr({ keyPair }),
    nodeId: opts.nodeId ?? "node-1",
    role: opts.role ?? "worker",
    lifetimeMs: opts.life ?? HOUR,
    sans: ["10.1.2.3", "host-a.example", "::1"],
    now: opts.now ?? NOW,
  });
}

Deno.test("ca: root CA is self-signed ECDSA P-256 with the cluster in its subject", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 10 * HOUR, now: NOW });
  const cert = new x509.X509Certificate(ca.certPem);
  assert.equal(cert.subject, "CN=warren-ca-c1, O=c1");
  assert.equal(cert.issuer, cert.subject);
  assert.equal(await cert.verify({ signatureOnly: true }), true);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, true);
  assert.equal((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  assert.equal(cert.notAfter.getTime(), NOW + 10 * HOUR);
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const digest = await caDigest(ca.certPem);
  assert.match(digest, /^[0-9a-f]{64}$/);
  assert.equal(digest, await caDigest(ca.certPem));
  const other = await createRootCa({ clusterId: "c1", lifetimeMs: 10 * HOUR, now: NOW });
  assert.notEqual(digest, await caDigest(other.certPem));
});

Deno.test("ca: node certificate carries node ID, role, cluster, SANs and both EKUs", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 10 * HOUR, now: NOW });
  const pem = await issue(ca, { nodeId: "abc123", role: "manager" });
  const info = await parseCert(pem);
  assert.equal(info.nodeId, "abc123");
  assert.equal(info.role, "manager");
  assert.equal(info.clusterId, "c1");
  assert.equal(info.notAfter, NOW + HOUR);
  assert.ok(info.notBefore <= NOW);
  assert.deepEqual(info.sans, ["abc123", MANAGER_SAN, "10.1.2.3", "host-a.example", "::1"]);
  assert.equal(info.issuer, "CN=warren-ca-c1, O=c1");
  const caSki = new x509.X509Certificate(ca.certPem)
    .getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  assert.equal(info.issuerKeyId, caSki);
  const cert = new x509.X509Certificate(pem);
  const eku = [...cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []];
  assert.deepEqual(eku, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  const ips = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items
    .filter((n) => n.type === "ip").map((n) => n.value);
  assert.deepEqual(ips, ["10.1.2.3", "::1"]);
  // Workers are not managers: no well-known manager name in their certificate.
  assert.ok(!(await parseCert(await issue(ca, { role: "worker" }))).sans.includes(MANAGER_SAN));
  assert.equal(MANAGER_SAN, MANAGER_SERVER_NAME);
});

Deno.test("ca: identity comes from the CA's caller, never from the CSR subject", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: NOW });
  const keyPair = await generateKeyPair();
  const csrPem = await createCsr({ keyPair, commonName: "i-want-to-be-admin" });
  const pem = await signCsr({
    ca,
    csrPem,
    nodeId: "n7",
    role: "worker",
    lifetimeMs: HOUR,
    sans: [],
    now: NOW,
  });
  assert.equal((await parseCert(pem)).nodeId, "n7");
  // The certificate is for the CSR's key.
  const certKey = await new x509.X509Certificate(pem).publicKey.export();
  assert.deepEqual(
    new Uint8Array(await crypto.subtle.exportKey("spki", certKey)),
    new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey)),
  );
});

Deno.test("ca: certificates never outlive the CA", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: NOW });
  const info = await parseCert(await issue(ca, { life: 100 * HOUR }));
  assert.equal(info.notAfter, NOW + HOUR);
});

Deno.test("ca: a CSR whose signature does not match is refused", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: NOW });
  const csr = new x509.Pkcs10CertificateRequest(
    await createCsr({ keyPair: await generateKeyPair() }),
  );
  const raw = new Uint8Array(csr.rawData);
  raw[raw.length - 5] ^= 0xff; // inside the signature
  const tampered = x509.PemConverter.encode(raw, "CERTIFICATE REQUEST");
  await assert.rejects(
    signCsr({
      ca,
      csrPem: tampered,
      nodeId: "n1",
      role: "worker",
      lifetimeMs: HOUR,
      sans: [],
      now: NOW,
    }),
    (e) => e instanceof ValidationError && e.field === "csrPem",
  );
  await assert.rejects(
    signCsr({
      ca,
      csrPem: "garbage",
      nodeId: "n1",
      role: "worker",
      lifetimeMs: HOUR,
      sans: [],
      now: NOW,
    }),
    /csrPem: is not a PEM certificate signing request/,
  );
  await assert.rejects(
    signCsr({
      ca,
      csrPem: csr.toString("pem"),
      nodeId: "n1",
      role: "root" as "admin",
      lifetimeMs: HOUR,
      sans: [],
      now: NOW,
    }),
    /role: must be one of manager, worker, admin/,
  );
});

Deno.test("ca: verifyCert checks the issuer and the validity window", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 10 * HOUR, now: NOW });
  const pem = await issue(ca, { nodeId: "n1", now: NOW, life: HOUR });
  assert.equal((await verifyCert(pem, ca.certPem, NOW + MIN)).nodeId, "n1");

  const foreign = await createRootCa({ clusterId: "c1", lifetimeMs: 10 * HOUR, now: NOW });
  await assert.rejects(
    verifyCert(pem, foreign.certPem, NOW),
    (e) =>
      e instanceof UnauthenticatedError && /was not issued by this cluster's CA/.test(e.message),
  );
  await assert.rejects(
    verifyCert(pem, ca.certPem, NOW + 2 * HOUR),
    (e) =>
      e instanceof UnauthenticatedError &&
      e.message === `certificate of n1 expired at ${new Date(NOW + HOUR).toISOString()}`,
  );
  await assert.rejects(
    verifyCert(pem, ca.certPem, NOW - HOUR),
    /certificate of n1 is not valid before|cluster CA certificate is not valid/,
  );
  await assert.rejects(verifyCert(pem, ca.certPem, NOW + 11 * HOUR), /expired|not valid at/);
});

Deno.test("ca: key PEM round-trips and the public half is recovered", async () => {
  const kp = await generateKeyPair();
  const pem = await exportKeyPem(kp.privateKey);
  const back = await importKeyPairPem(pem);
  const data = new TextEncoder().encode("hello");
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, back.privateKey, data);
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    kp.publicKey,
    sig,
    data,
  );
  assert.equal(ok, true);
  assert.deepEqual(
    new Uint8Array(await crypto.subtle.exportKey("spki", back.publicKey)),
    new Uint8Array(await crypto.subtle.exportKey("spki", kp.publicKey)),
  );
  await assert.rejects(importKeyPairPem("nope"), /keyPem: is not a PKCS#8/);
});

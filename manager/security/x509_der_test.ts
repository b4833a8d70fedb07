import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { read } from "./der.ts";
import {
  buildCertificate,
  buildCsr,
  encodeName,
  Ext,
  ipBytes,
  keyId,
  nameField,
  readCertificate,
  readCsr,
} from "./x509_der.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256" } as const;

Deno.test("x509_der: IP text to bytes, v4 and v6; names are not IPs", () => {
  assert.deepEqual([...ipBytes("10.1.2.3")!], [10, 1, 2, 3]);
  assert.equal(ipBytes("10.1.2.300"), undefined);
  assert.deepEqual([...ipBytes("::1")!], [...new Array(15).fill(0), 1]);
  assert.deepEqual(
    [...ipBytes("fd00:1::2:3")!],
    [0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3],
  );
  assert.deepEqual([...ipBytes("::ffff:10.0.0.1")!].slice(10), [0xff, 0xff, 10, 0, 0, 1]);
  assert.equal(ipBytes("1:2:3:4:5:6:7:8")!.length, 16);
  for (const bad of ["host-a.example", "1:2:3", "1::2::3", "1:2:3:4:5:6:7:8::", "abc"]) {
    assert.equal(ipBytes(bad), undefined, bad);
  }
});

Deno.test("x509_der: a certificate signed by another reads back with node:crypto", async () => {
  const ca = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const leaf = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const caSpki = new Uint8Array(await crypto.subtle.exportKey("spki", ca.publicKey));
  const leafSpki = new Uint8Array(await crypto.subtle.exportKey("spki", leaf.publicKey));
  const caName = encodeName([["CN", "root"], ["O", "c9"]]);
  const now = Date.UTC(2030, 5, 1);
  const caDer = await buildCertificate({
    serial: Uint8Array.of(1),
    issuer: caName,
    subject: caName,
    notBefore: now,
    notAfter: now + 3_600_000,
    spki: caSpki,
    extensions: [
      Ext.basicConstraints(true),
      Ext.keyUsage(true),
      Ext.subjectKeyId(await keyId(caSpki)),
    ],
    signingKey: ca.privateKey,
  });
  const view = readCertificate(caDer);
  assert.equal(nameField(view.subject, "O"), "c9");
  assert.equal(nameField(view.subject, "OU"), "");
  assert.deepEqual(view.subjectKeyId, await keyId(caSpki));
  const leafDer = await buildCertificate({
    serial: Uint8Array.of(0xff, 2),
    issuer: view.subject.der,
    subject: encodeName([["CN", "n1"], ["OU", "worker"], ["O", "c9"]]),
    notBefore: now,
    notAfter: now + 60_000,
    spki: leafSpki,
    extensions: [Ext.basicConstraints(false), Ext.subjectAltName(["n1", "10.0.0.7", "::1"])],
    signingKey: ca.privateKey,
  });
  const caCert = new X509Certificate(caDer);
  const leafCert = new X509Certificate(leafDer);
  assert.equal(caCert.ca, true);
  assert.equal(leafCert.ca, false);
  assert.equal(leafCert.subject, "CN=n1\nOU=worker\nO=c9");
  assert.equal(leafCert.validToDate.getTime(), now + 60_000);
  assert.match(
    leafCert.subjectAltName ?? "",
    /DNS:n1, IP Address:10\.0\.0\.7, IP Address:0?:?:?:?:?:?:?:?1/i,
  );
  assert.equal(leafCert.checkIssued(caCert), true);
  assert.equal(leafCert.verify(caCert.publicKey), true);
  assert.equal(leafCert.verify(new X509Certificate(leafDer).publicKey), false);
});

Deno.test("x509_der: a CSR carries its key and a self-signature that is checked", async () => {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const der = await buildCsr(encodeName([["CN", "joiner"]]), keys);
  const csr = await readCsr(der);
  assert.equal(csr.valid, true);
  assert.deepEqual(csr.spki, new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)));
  const tampered = new Uint8Array(der);
  tampered[20] ^= 0x01; // inside the signed request info (the subject)
  assert.equal((await readCsr(tampered)).valid, false);
  await assert.rejects(readCsr(der.subarray(0, der.length - 3)), TypeError);
  assert.equal(read(der).tag, 0x30);
});

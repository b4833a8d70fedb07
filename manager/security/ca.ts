/**
 * The cluster's certificate authority: a self-signed ECDSA P-256 root, CSRs from joining nodes,
 * and node certificates that carry the node's identity (Docker Swarm's model):
 *
 *   subject CN = node ID, OU = role (manager | worker | admin), O = cluster ID
 *   SANs       = node ID (DNS) + the DNS names and IPs the node is reached by
 *   EKU        = serverAuth + clientAuth (every node is both a TLS client and server)
 *
 * Time is always injected (`now`, ms since the epoch) so issuing and checking are deterministic.
 * @module
 */
import type * as X509 from "@peculiar/x509";
import { certDer, certValidity, derToPem, pemToDer } from "../../net/grpc/pem.ts";
import { x509Lib } from "./x509_lib.ts";
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { type RandomBytes, randomBytes, sha256Hex } from "./_encoding.ts";
import {
  buildCertificate,
  buildCsr,
  type CertificateView,
  encodeName,
  Ext,
  keyId,
  nameField,
  readCertificate,
  readCsr,
} from "./x509_der.ts";

/** What a certificate lets its holder do; carried in the subject's OU. */
export type NodeRole = "manager" | "worker" | "admin";

/** Every role, in a stable order. */
export const NODE_ROLES: readonly NodeRole[] = ["manager", "worker", "admin"];

/**
 * DNS name in every manager certificate's SANs (Swarm's `swarm-manager`): a node that dials a
 * manager by IP, before it knows the manager's node ID, verifies the server under this name.
 * Must equal `MANAGER_SERVER_NAME` in net/grpc/tls.ts (a test checks it).
 */
export const MANAGER_SAN = "warren-manager";

/** A root CA: its certificate and its PKCS#8 private key, both PEM. */
export interface RootCa {
  certPem: string;
  keyPem: string;
}

/** What {@link parseCert} reads from a node certificate. */
export interface CertInfo {
  /** Subject CN: the node ID the CA assigned. */
  nodeId: string;
  /** Subject OU: the node's role. */
  role: NodeRole;
  /** Subject O: the cluster ID ("" when absent). */
  clusterId: string;
  /** Start of validity, ms since the epoch. */
  notBefore: number;
  /** End of validity, ms since the epoch. */
  notAfter: number;
  /** Hex authority key identifier: names the CA key that signed it ("" when absent). */
  issuerKeyId: string;
  /** Issuer distinguished name, e.g. `CN=warren-ca-c1, O=c1`. */
  issuer: string;
  /** Subject alternative names: DNS names and IP addresses, as text. */
  sans: string[];
  /** Hex serial number. */
  serialNumber: string;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Certificates start this long before `now`, so peers with slightly slow clocks accept them. */
const BACKDATE_MS = 5 * 60_000;

/** A fresh, extractable ECDSA P-256 key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** Exports a private key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function exportKeyPem(privateKey: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", privateKey);
  return derToPem(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 PEM private key and recovers its public half (from the JWK's x/y). */
export async function importKeyPairPem(keyPem: string): Promise<CryptoKeyPair> {
  let privateKey: CryptoKey;
  try {
    const der = pemToDer(keyPem, "PRIVATE KEY");
    privateKey = await crypto.subtle.importKey("pkcs8", der, ALG, true, ["sign"]);
  } catch (err) {
    throw new ValidationError("keyPem", "is not a PKCS#8 ECDSA P-256 private key", { cause: err });
  }
  const { d: _d, key_ops: _ops, ...pub } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", pub, ALG, true, ["verify"]);
  return { privateKey, publicKey };
}

/** Options of {@link createRootCa}. */
export interface CreateRootCaOptions {
  clusterId: string;
  lifetimeMs: number;
  /** Issue time, ms since the epoch. */
  now: number;
  /** Randomness for the serial number (default: the platform CSPRNG). */
  rand?: RandomBytes;
}

/** Creates a self-signed root CA, subject `CN=warren-ca-<clusterId>, O=<clusterId>`. */
export async function createRootCa(opts: CreateRootCaOptions): Promise<RootCa> {
  const keys = await generateKeyPair();
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const name = encodeName([["CN", `warren-ca-${opts.clusterId}`], ["O", opts.clusterId]]);
  const cert = await buildCertificate({
    serial: serial(opts.rand),
    issuer: name,
    subject: name,
    notBefore: opts.now - BACKDATE_MS,
    notAfter: opts.now + opts.lifetimeMs,
    spki,
    extensions: [
      Ext.basicConstraints(true),
      Ext.keyUsage(true),
      Ext.subjectKeyId(await keyId(spki)),
    ],
    signingKey: keys.privateKey,
  });
  return { certPem: derToPem(cert, "CERTIFICATE"), keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * Hex SHA-256 of the certificate's DER: what join tokens carry, so a joining node can check the
 * CA a manager presents before it trusts it.
 */
export async function caDigest(certPem: string): Promise<string> {
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = certDer(certPem);
  } catch (err) {
    throw new ValidationError("caPem", "is not a PEM X.509 certificate", { cause: err });
  }
  return await sha256Hex(der);
}

/** Options of {@link createCsr}. */
export interface CreateCsrOptions {
  keyPair: CryptoKeyPair;
  /** Subject CN to request; informational only, the CA assigns the node ID. */
  commonName?: string;
}

/** A PKCS#10 certificate signing request (PEM) for `keyPair`. */
export async function createCsr(opts: CreateCsrOptions): Promise<string> {
  const subject = encodeName([["CN", opts.commonName ?? "warren-node"]]);
  return derToPem(await buildCsr(subject, opts.keyPair), "CERTIFICATE REQUEST");
}

/** Options of {@link signCsr}. */
export interface SignCsrOptions {
  ca: RootCa;
  csrPem: string;
  nodeId: string;
  role: NodeRole;
  lifetimeMs: number;
  /**
   * DNS names and IP addresses (v4 or v6) the node is reached by. The node ID is always added,
   * and for managers {@link MANAGER_SAN} too.
   */
  sans: string[];
  /** Issue time, ms since the epoch. */
  now: number;
  rand?: RandomBytes;
}

/**
 * Issues a node certificate for the key in `csrPem`. Only the CSR's public key is used (after its
 * self-signature is checked); identity, role and names come from the caller, never from the CSR.
 * The certificate never outlives the CA.
 */
export async function signCsr(opts: SignCsrOptions): Promise<string> {
  if (!NODE_ROLES.includes(opts.role)) {
    throw new ValidationError("role", `must be one of ${NODE_ROLES.join(", ")}`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(opts.nodeId)) {
    throw new ValidationError("nodeId", "must be 1-64 letters, digits, '.', '_' or '-'");
  }
  let csr: { spki: Uint8Array; valid: boolean };
  try {
    csr = await readCsr(pemToDer(opts.csrPem, "CERTIFICATE REQUEST"));
  } catch (err) {
    throw new ValidationError(
      "csrPem",
      "is not a PEM certificate signing request (ECDSA P-256, SHA-256)",
      {
        cause: err,
      },
    );
  }
  if (!csr.valid) throw new ValidationError("csrPem", "signature does not match its public key");
  let ca: CertificateView;
  let caNotAfter: number;
  try {
    ca = readCertificate(certDer(opts.ca.certPem));
    caNotAfter = certValidity(opts.ca.certPem).notAfter;
  } catch (err) {
    throw new ValidationError("ca.certPem", "is not a PEM X.509 certificate", { cause: err });
  }
  const caKeys = await importKeyPairPem(opts.ca.keyPem);
  const clusterId = nameField(ca.subject, "O");
  const base = opts.role === "manager" ? [opts.nodeId, MANAGER_SAN] : [opts.nodeId];
  const cert = await buildCertificate({
    serial: serial(opts.rand),
    issuer: ca.subject.der,
    subject: encodeName([["CN", opts.nodeId], ["OU", opts.role], ["O", clusterId]]),
    notBefore: opts.now - BACKDATE_MS,
    notAfter: Math.min(opts.now + opts.lifetimeMs, caNotAfter),
    spki: csr.spki,
    extensions: [
      Ext.basicConstraints(false),
      Ext.keyUsage(false),
      Ext.serverAndClientAuth(),
      Ext.subjectAltName([...new Set([...base, ...opts.sans])]),
      Ext.subjectKeyId(await keyId(csr.spki)),
      Ext.authorityKeyId(ca.subjectKeyId ?? await keyId(ca.spki)),
    ],
    signingKey: caKeys.privateKey,
  });
  return derToPem(cert, "CERTIFICATE");
}

/** Reads the identity and validity of a node certificate (no signature check: see verifyCert). */
export async function parseCert(certPem: string): Promise<CertInfo> {
  const x509 = await x509Lib();
  return describe(x509, readCert(x509, certPem, "certPem"));
}

/**
 * Checks that `certPem` was signed by the CA in `caPem` and is valid at `now`, and returns what it
 * says. Throws UnauthenticatedError naming the reason (foreign CA, not yet valid, expired, no role).
 */
export async function verifyCert(certPem: string, caPem: string, now: number): Promise<CertInfo> {
  const x509 = await x509Lib();
  const cert = readCert(x509, certPem, "certPem");
  const ca = readCert(x509, caPem, "caPem");
  const subject = cert.subjectName.getField("CN")[0] ?? cert.subject;
  if (cert.issuer !== ca.subject || !await cert.verify({ publicKey: ca, signatureOnly: true })) {
    throw new UnauthenticatedError(
      `certificate of ${subject} was not issued by this cluster's CA (${ca.subject})`,
    );
  }
  if (now < ca.notBefore.getTime() || now > ca.notAfter.getTime()) {
    throw new UnauthenticatedError(
      `the cluster CA certificate is not valid at ${iso(now)} ` +
        `(valid ${iso(ca.notBefore.getTime())} to ${iso(ca.notAfter.getTime())})`,
    );
  }
  if (now < cert.notBefore.getTime()) {
    throw new UnauthenticatedError(
      `certificate of ${subject} is not valid before ${iso(cert.notBefore.getTime())}`,
    );
  }
  if (now > cert.notAfter.getTime()) {
    throw new UnauthenticatedError(
      `certificate of ${subject} expired at ${iso(cert.notAfter.getTime())}`,
    );
  }
  try {
    return describe(x509, cert);
  } catch (err) {
    throw new UnauthenticatedError(`certificate of ${subject} carries no Warren identity`, {
      cause: err,
    });
  }
}

function describe(x509: typeof X509, cert: X509.X509Certificate): CertInfo {
  const nodeId = cert.subjectName.getField("CN")[0] ?? "";
  const role = cert.subjectName.getField("OU")[0] ?? "";
  if (!nodeId) throw new ValidationError("certPem", "subject has no CN (node ID)");
  if (!NODE_ROLES.includes(role as NodeRole)) {
    throw new ValidationError("certPem", `subject OU "${role}" is not a Warren role`);
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  return {
    nodeId,
    role: role as NodeRole,
    clusterId: cert.subjectName.getField("O")[0] ?? "",
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    issuerKeyId: aki?.keyId ?? "",
    issuer: cert.issuer,
    sans: san ? san.names.items.map((n) => n.value) : [],
    serialNumber: cert.serialNumber,
  };
}

function readCert(x509: typeof X509, pem: string, field: string): X509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new ValidationError(field, "is not a PEM X.509 certificate", { cause: err });
  }
}

/** A positive 128-bit serial (high bit cleared so DER does not need a sign byte). */
function serial(rand?: RandomBytes): Uint8Array {
  const bytes = randomBytes(16, rand);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

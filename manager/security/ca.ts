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
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { type RandomBytes, randomBytes, sha256Hex, toHex } from "./_encoding.ts";

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
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
/** Certificates start this long before `now`, so peers with slightly slow clocks accept them. */
const BACKDATE_MS = 5 * 60_000;

/** A fresh, extractable ECDSA P-256 key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** Exports a private key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function exportKeyPem(privateKey: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", privateKey);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 PEM private key and recovers its public half (from the JWK's x/y). */
export async function importKeyPairPem(keyPem: string): Promise<CryptoKeyPair> {
  let privateKey: CryptoKey;
  try {
    const der = x509.PemConverter.decodeFirst(keyPem);
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
  const name = `CN=warren-ca-${opts.clusterId}, O=${opts.clusterId}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(opts.rand),
    name,
    notBefore: new Date(opts.now - BACKDATE_MS),
    notAfter: new Date(opts.now + opts.lifetimeMs),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * Hex SHA-256 of the certificate's DER: what join tokens carry, so a joining node can check the
 * CA a manager presents before it trusts it.
 */
export async function caDigest(certPem: string): Promise<string> {
  return await sha256Hex(new Uint8Array(readCert(certPem, "caPem").rawData));
}

/** Options of {@link createCsr}. */
export interface CreateCsrOptions {
  keyPair: CryptoKeyPair;
  /** Subject CN to request; informational only, the CA assigns the node ID. */
  commonName?: string;
}

/** A PKCS#10 certificate signing request (PEM) for `keyPair`. */
export async function createCsr(opts: CreateCsrOptions): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${opts.commonName ?? "warren-node"}`,
    keys: opts.keyPair,
    signingAlgorithm: SIGNING,
  });
  return csr.toString("pem");
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
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(opts.csrPem);
  } catch (err) {
    throw new ValidationError("csrPem", "is not a PEM certificate signing request", { cause: err });
  }
  if (!await csr.verify()) {
    throw new ValidationError("csrPem", "signature does not match its public key");
  }
  const caCert = readCert(opts.ca.certPem, "ca.certPem");
  const caKeys = await importKeyPairPem(opts.ca.keyPem);
  const clusterId = caCert.subjectName.getField("O")[0] ?? "";
  const base = opts.role === "manager" ? [opts.nodeId, MANAGER_SAN] : [opts.nodeId];
  const names = [...new Set([...base, ...opts.sans])].map((v): x509.JsonGeneralName => ({
    type: isIp(v) ? "ip" : "dns",
    value: v,
  }));
  const notAfter = Math.min(opts.now + opts.lifetimeMs, caCert.notAfter.getTime());
  const publicKey = await csr.publicKey.export(ALG, ["verify"]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(opts.rand),
    subject: `CN=${opts.nodeId}, OU=${opts.role}, O=${clusterId}`,
    issuer: caCert.subjectName,
    notBefore: new Date(opts.now - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString("pem");
}

/** Reads the identity and validity of a node certificate (no signature check: see verifyCert). */
export function parseCert(certPem: string): CertInfo {
  return describe(readCert(certPem, "certPem"));
}

/**
 * Checks that `certPem` was signed by the CA in `caPem` and is valid at `now`, and returns what it
 * says. Throws UnauthenticatedError naming the reason (foreign CA, not yet valid, expired, no role).
 */
export async function verifyCert(certPem: string, caPem: string, now: number): Promise<CertInfo> {
  const cert = readCert(certPem, "certPem");
  const ca = readCert(caPem, "caPem");
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
    return describe(cert);
  } catch (err) {
    throw new UnauthenticatedError(`certificate of ${subject} carries no Warren identity`, {
      cause: err,
    });
  }
}

function describe(cert: x509.X509Certificate): CertInfo {
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

function readCert(pem: string, field: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new ValidationError(field, "is not a PEM X.509 certificate", { cause: err });
  }
}

/** A positive 128-bit serial (high bit cleared so DER does not need a sign byte). */
function serial(rand?: RandomBytes): string {
  const bytes = randomBytes(16, rand);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return toHex(bytes);
}

function isIp(v: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(v) || (v.includes(":") && /^[0-9a-fA-F:.]+$/.test(v));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

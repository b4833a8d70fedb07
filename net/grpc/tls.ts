/**
 * Mutual TLS for Warren's gRPC servers and channels, with certificates that can be swapped while
 * servers and channels keep running (certificate renewal without restart).
 *
 * Identity lives in the certificate (Docker Swarm's model): subject CN = node ID, OU = role,
 * O = cluster ID. The TLS handshake proves the peer holds a certificate from the cluster CA;
 * {@link peerIdentity} reads who it is and {@link authorize} checks what it may call.
 *
 * Renewal: a {@link TlsIdentity} is a grpc-js `CertificateProvider`. Servers and channels built from
 * one by {@link serverCredentials} / {@link channelCredentials} read its latest CA and key pair for
 * every NEW TLS connection, so `identity.update(renewed)` takes effect without rebuilding anything;
 * connections already open keep the certificate they were made with until they close.
 *
 * This module parses nothing from manager/ (net must not import it): the peer's subject comes from
 * the verified TLS session itself.
 * @module
 */
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { experimental } from "@grpc/grpc-js";
import type { ChannelCredentials, ChannelOptions, ServerCredentials } from "@grpc/grpc-js";
import { ValidationError } from "../../proto/errors.ts";
import { pemToDer } from "./pem.ts";

export {
  type AuthContext,
  authorize,
  type AuthorizeOptions,
  type CallWithAuth,
  MANAGER_SERVER_NAME,
  type PeerIdentity,
  peerIdentity,
  type PeerRole,
} from "./tls_peer.ts";
export { type FetchPinnedCaOptions, fetchPinnedCaPem } from "./tls_pin.ts";

/** PEM material for one node: the cluster CA, the node's certificate and its private key. */
export interface TlsMaterial {
  /** The cluster root CA certificate: peers must be signed by it. */
  caPem: string;
  /** This node's certificate. Optional only for a client that has none yet (joining). */
  certPem?: string;
  /** This node's PKCS#8 private key, with `certPem`. */
  keyPem?: string;
}

type CaListener = experimental.CaCertificateUpdateListener;
type IdListener = experimental.IdentityCertificateUpdateListener;

/**
 * The node's current TLS material, as a grpc-js certificate provider. Hand the same instance to
 * every server and channel; call {@link TlsIdentity.update} after renewal or CA rotation.
 *
 * The served chain is the node certificate followed by the CA certificate, so a joining node can
 * see the CA and check it against its join token ({@link fetchPinnedCaPem}).
 */
export class TlsIdentity implements experimental.CertificateProvider {
  #material: Readonly<TlsMaterial>;
  #caListeners = new Set<CaListener>();
  #idListeners = new Set<IdListener>();

  constructor(material: TlsMaterial) {
    this.#material = checkMaterial(material);
  }

  /** The material new connections use. */
  get current(): Readonly<TlsMaterial> {
    return this.#material;
  }

  /** Whether a certificate and key are present (a joining node has only the CA). */
  get hasCertificate(): boolean {
    return this.#material.certPem !== undefined;
  }

  /**
   * Replaces the material; every server and channel uses it for its next TLS connection. Checks it
   * first (see {@link checkTlsMaterial}) and keeps the old material if it is unusable: a server
   * handed a certificate that does not match its key would refuse every new connection.
   */
  async update(material: TlsMaterial): Promise<void> {
    await checkTlsMaterial(material);
    this.#material = checkMaterial(material);
    for (const l of this.#caListeners) l(this.#caUpdate());
    for (const l of this.#idListeners) l(this.#idUpdate());
  }

  /** @internal grpc-js provider API. */
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // grpc-js registers its watcher only after this returns: deliver on a later tick.
    queueMicrotask(() => {
      if (this.#caListeners.has(listener)) listener(this.#caUpdate());
    });
  }
  /** @internal grpc-js provider API. */
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  /** @internal grpc-js provider API. */
  addIdentityCertificateListener(listener: IdListener): void {
    this.#idListeners.add(listener);
    queueMicrotask(() => {
      if (this.#idListeners.has(listener)) listener(this.#idUpdate());
    });
  }
  /** @internal grpc-js provider API. */
  removeIdentityCertificateListener(listener: IdListener): void {
    this.#idListeners.delete(listener);
  }

  #caUpdate() {
    return { caCertificate: Buffer.from(this.#material.caPem) };
  }
  #idUpdate() {
    const { certPem, keyPem, caPem } = this.#material;
    if (certPem === undefined || keyPem === undefined) return null;
    return {
      certificate: Buffer.from(`${certPem.trimEnd()}\n${caPem.trimEnd()}\n`),
      privateKey: Buffer.from(keyPem),
    };
  }
}

/**
 * Checks that TLS material is usable: the CA and certificate parse, the certificate was signed by
 * the CA, and the private key is the certificate's (ECDSA). Throws ValidationError naming the
 * field. Validity dates are not checked: that is the TLS handshake's job at connection time.
 */
export async function checkTlsMaterial(m: TlsMaterial): Promise<void> {
  const ca = parsePem(m.caPem, "caPem");
  if (m.certPem === undefined || m.keyPem === undefined) {
    checkMaterial(m);
    return;
  }
  const cert = parsePem(m.certPem, "certPem");
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    const subject = ca.subject.replaceAll("\n", ", ");
    throw new ValidationError("certPem", `was not issued by the CA in caPem (${subject})`);
  }
  const certJwk = cert.publicKey.export({ format: "jwk" }) as JsonWebKey;
  let keyJwk: JsonWebKey;
  try {
    const der = pemToDer(m.keyPem, "PRIVATE KEY");
    const params = { name: "ECDSA", namedCurve: certJwk.crv ?? "" };
    keyJwk = await crypto.subtle.exportKey(
      "jwk",
      await crypto.subtle.importKey("pkcs8", der, params, true, ["sign"]),
    );
  } catch (err) {
    throw new ValidationError("keyPem", `is not a PKCS#8 ECDSA ${certJwk.crv} private key`, {
      cause: err,
    });
  }
  if (keyJwk.x !== certJwk.x || keyJwk.y !== certJwk.y) {
    throw new ValidationError("keyPem", "is not the private key of certPem");
  }
}

function parsePem(pem: string, field: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ValidationError(field, "is not a PEM X.509 certificate", { cause: err });
  }
}

function checkMaterial(m: TlsMaterial): Readonly<TlsMaterial> {
  if (!m.caPem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TypeError("caPem must be a PEM certificate");
  }
  if ((m.certPem === undefined) !== (m.keyPem === undefined)) {
    throw new TypeError("certPem and keyPem must be given together");
  }
  return Object.freeze({ ...m });
}

function asIdentity(source: TlsMaterial | TlsIdentity): TlsIdentity {
  return source instanceof TlsIdentity ? source : new TlsIdentity(source);
}

/** Options of {@link serverCredentials}. */
export interface ServerTlsOptions {
  /**
   * `"require"` (default): the handshake fails without a valid client certificate from the CA.
   * `"optional"`: a client without one may connect (a node joining with a token, Swarm's
   * VerifyClientCertIfGiven); {@link peerIdentity} then throws UnauthenticatedError for it, so every
   * handler except the join path must call {@link authorize}. Certificates from another CA or
   * expired ones never yield an identity either way.
   */
  clientCert?: "require" | "optional";
}

/** Server credentials for mutual TLS from fixed material or a renewable {@link TlsIdentity}. */
export function serverCredentials(
  source: TlsMaterial | TlsIdentity,
  opts: ServerTlsOptions = {},
): ServerCredentials {
  const identity = asIdentity(source);
  if (!identity.hasCertificate) throw new TypeError("a server needs certPem and keyPem");
  return experimental.createCertificateProviderServerCredentials(
    identity,
    identity,
    (opts.clientCert ?? "require") === "require",
  );
}

/**
 * Channel credentials that verify the server against the cluster CA and present this node's
 * certificate. A source without a certificate (a node joining) makes credentials that never
 * present one, even if the identity gains one later: build new credentials after joining.
 * Pair with {@link channelOptionsFor}.
 */
export function channelCredentials(source: TlsMaterial | TlsIdentity): ChannelCredentials {
  const identity = asIdentity(source);
  return experimental.createCertificateProviderChannelCredentials(
    identity,
    identity.hasCertificate ? identity : null,
  );
}

/**
 * Channel options that verify the server under `serverName` (a node ID or
 * {@link MANAGER_SERVER_NAME}) whatever address is dialed: TLS cannot use an IP as server name.
 *
 * They also give the channel its own connections (`grpc.use_local_subchannel_pool`): by default
 * grpc-js shares connections between channels with equal credentials, so a channel created after
 * a certificate update could reuse a connection made with the old certificate. With a local pool,
 * closing a channel and creating a new one always makes a new handshake with the current
 * certificate (needed when the role in it changes, e.g. on promotion).
 */
export function channelOptionsFor(serverName: string): ChannelOptions {
  return {
    "grpc.ssl_target_name_override": serverName,
    "grpc.default_authority": serverName,
    "grpc.use_local_subchannel_pool": 1,
  };
}

/**
 * When to renew a certificate valid from `notBefore` to `notAfter` (ms): a random point between 50%
 * and 80% of its lifetime, so a cluster's nodes do not all renew at once (Swarm does the same).
 * `rand` returns a number in [0, 1).
 */
export function renewAt(
  notBefore: number,
  notAfter: number,
  rand: () => number = Math.random,
): number {
  const lifetimeMs = Math.max(0, notAfter - notBefore);
  return notBefore + Math.floor(lifetimeMs * (0.5 + 0.3 * rand()));
}

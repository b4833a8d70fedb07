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
import * as tls from "node:tls";
import { experimental } from "@grpc/grpc-js";
import type {
  ChannelCredentials,
  ChannelOptions,
  ServerCredentials,
  ServerUnaryCall,
} from "@grpc/grpc-js";
import {
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from "../../proto/errors.ts";

/**
 * DNS name in every manager certificate (Swarm's `swarm-manager`): dial a manager by IP and verify
 * it under this name with `channelOptionsFor(MANAGER_SERVER_NAME)`.
 */
export const MANAGER_SERVER_NAME = "warren-manager";

/** The roles a Warren certificate can carry. */
export type PeerRole = "manager" | "worker" | "admin";

const ROLES: ReadonlySet<string> = new Set<PeerRole>(["manager", "worker", "admin"]);

/** PEM material for one node: the cluster CA, the node's certificate and its private key. */
export interface TlsMaterial {
  /** The cluster root CA certificate: peers must be signed by it. */
  caPem: string;
  /** This node's certificate. Optional only for a client that has none yet (joining). */
  certPem?: string;
  /** This node's PKCS#8 private key, with `certPem`. */
  keyPem?: string;
}

/** Who is calling, read from the verified client certificate. */
export interface PeerIdentity {
  nodeId: string;
  role: PeerRole;
  clusterId: string;
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

  /** Replaces the material; every server and channel uses it for its next TLS connection. */
  update(material: TlsMaterial): void {
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

/** What grpc-js reports about a call's TLS session. */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>["getAuthContext"]>;

/** The part of a grpc-js server call this module reads (every server call kind has it). */
export interface CallWithAuth {
  getAuthContext(): AuthContext;
  getPath(): string;
}

/**
 * The caller's identity from its verified client certificate. Throws UnauthenticatedError when the
 * connection has none (no certificate, or one the TLS layer did not verify).
 */
export function peerIdentity(call: CallWithAuth): PeerIdentity {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (!cert) {
    throw new UnauthenticatedError(
      `${methodName(call)} requires a client certificate from this cluster's CA`,
    );
  }
  const nodeId = field(cert.subject?.CN);
  const role = field(cert.subject?.OU);
  if (!nodeId || !ROLES.has(role)) {
    throw new UnauthenticatedError(
      `client certificate carries no Warren identity (CN "${nodeId}", OU "${role}")`,
    );
  }
  return { nodeId, role: role as PeerRole, clusterId: field(cert.subject?.O) };
}

function field(v: string | string[] | undefined): string {
  return typeof v === "string" ? v : "";
}

/** Options of {@link authorize}. */
export interface AuthorizeOptions {
  /** The call acts on this node's behalf: only that node (or an allowed admin/manager) may. */
  nodeIdMustBe?: string;
}

/**
 * Checks that the caller's role is in `allowedRoles` (and, with `nodeIdMustBe`, that it is that
 * node) and returns its identity. Throws UnauthenticatedError without a certificate and
 * PermissionDeniedError otherwise, e.g. `role worker may not call ServiceService/Create`.
 */
export function authorize(
  call: CallWithAuth,
  allowedRoles: readonly PeerRole[],
  opts: AuthorizeOptions = {},
): PeerIdentity {
  const peer = peerIdentity(call);
  if (!allowedRoles.includes(peer.role)) {
    throw new PermissionDeniedError(`role ${peer.role} may not call ${methodName(call)}`);
  }
  if (opts.nodeIdMustBe !== undefined && peer.nodeId !== opts.nodeIdMustBe) {
    throw new PermissionDeniedError(
      `node ${peer.nodeId} may not call ${methodName(call)} for node ${opts.nodeIdMustBe}`,
    );
  }
  return peer;
}

/** `/warren.v1.ServiceService/Create` → `ServiceService/Create`. */
function methodName(call: CallWithAuth): string {
  const path = call.getPath();
  const slash = path.lastIndexOf("/");
  const service = path.slice(1, slash);
  return `${service.slice(service.lastIndexOf(".") + 1)}/${path.slice(slash + 1)}`;
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

/** Options of {@link fetchPinnedCaPem}. */
export interface FetchPinnedCaOptions {
  /** The manager's `host:port`. */
  address: string;
  /** Hex SHA-256 of the CA certificate's DER, from the join token. */
  caDigest: string;
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Trust on first use, pinned by the join token (Swarm's join): opens a TLS connection to a manager
 * WITHOUT verifying it, and returns the CA certificate from the chain it serves only if its DER's
 * SHA-256 equals `caDigest`. Nothing secret is sent on that connection. Use the returned PEM with
 * {@link channelCredentials}: the join call then verifies the manager's certificate against it.
 * Throws UnauthenticatedError when no served certificate matches, UnavailableError when the manager
 * cannot be reached.
 */
export async function fetchPinnedCaPem(opts: FetchPinnedCaOptions): Promise<string> {
  const { host, port } = splitHostPort(opts.address);
  const socket = tls.connect({
    host,
    port,
    servername: MANAGER_SERVER_NAME,
    rejectUnauthorized: false,
    ALPNProtocols: ["h2"],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no TLS handshake within ${opts.timeoutMs ?? 10_000} ms`)),
        opts.timeoutMs ?? 10_000,
      );
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    }).catch((err) => {
      throw new UnavailableError(`cannot reach manager at ${opts.address}: ${err.message}`, {
        cause: err,
      });
    });
    const want = opts.caDigest.toLowerCase();
    const seen: string[] = [];
    let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
    while (cert?.raw && seen.length < 8) {
      const der = new Uint8Array(cert.raw);
      const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
      if (digest === want) return toPem(der);
      seen.push(digest);
      cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
    }
    throw new UnauthenticatedError(
      `manager at ${opts.address} does not serve the CA named by the join token ` +
        `(want sha256 ${want}, saw ${seen.join(", ") || "no certificate"}): ` +
        "the token is for another cluster, or the connection is being intercepted",
    );
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new TypeError(`address "${address}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toPem(der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

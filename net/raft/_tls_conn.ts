/**
 * What the Raft transport's client and server share: TLS options built from a node's current
 * material, the Warren identity read from a peer's verified certificate, and address parsing.
 * @module
 */
import type { TLSSocket } from "node:tls";
import type { PeerIdentity, PeerRole } from "../grpc/tls_peer.ts";
import type { TlsMaterial } from "../grpc/tls.ts";
import { ValidationError } from "../../proto/errors.ts";

const ROLES: ReadonlySet<string> = new Set<PeerRole>(["manager", "worker", "admin"]);

/** The key pair and CA of `m` as node:tls options (chain: node certificate, then the CA). */
export function tlsOptions(m: Readonly<TlsMaterial>): { ca: string; cert: string; key: string } {
  if (m.certPem === undefined || m.keyPem === undefined) {
    throw new ValidationError("identity", "the Raft transport needs a certificate and key");
  }
  return {
    ca: m.caPem,
    cert: `${m.certPem.trimEnd()}\n${m.caPem.trimEnd()}\n`,
    key: m.keyPem,
  };
}

/**
 * The identity in the certificate the TLS layer verified on `sock` (CN = node ID, OU = role,
 * O = cluster ID), or a reason why there is none.
 */
export function verifiedPeer(sock: TLSSocket): PeerIdentity | string {
  if (!sock.authorized) {
    return `peer certificate not verified: ${sock.authorizationError ?? "none presented"}`;
  }
  const subject = sock.getPeerCertificate()?.subject as
    | Record<string, string | string[] | undefined>
    | undefined;
  const field = (v: string | string[] | undefined) => typeof v === "string" ? v : "";
  const nodeId = field(subject?.CN);
  const role = field(subject?.OU);
  if (!nodeId || !ROLES.has(role)) {
    return `peer certificate carries no Warren identity (CN "${nodeId}", OU "${role}")`;
  }
  return { nodeId, role: role as PeerRole, clusterId: field(subject?.O) };
}

/** `host:port` (or `[v6]:port`) → its parts; throws ValidationError otherwise. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const port = Number(address.slice(i + 1));
  let host = address.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ValidationError("address", `want host:port, got "${address}"`);
  }
  return { host, port };
}

/** An error's message, for logs and unreachable reasons. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Who is calling and what they may call: the caller's identity comes from the client certificate
 * the TLS layer verified (subject CN = node ID, OU = role, O = cluster ID); {@link authorize} checks
 * it against the roles a method allows. Re-exported by tls.ts.
 * @module
 */
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { PermissionDeniedError, UnauthenticatedError } from "../../proto/errors.ts";

/**
 * DNS name in every manager certificate (Swarm's `swarm-manager`): dial a manager by IP and verify
 * it under this name with `channelOptionsFor(MANAGER_SERVER_NAME)`.
 */
export const MANAGER_SERVER_NAME = "warren-manager";

/** The roles a Warren certificate can carry. */
export type PeerRole = "manager" | "worker" | "admin";

const ROLES: ReadonlySet<string> = new Set<PeerRole>(["manager", "worker", "admin"]);

/** Who is calling, read from the verified client certificate. */
export interface PeerIdentity {
  nodeId: string;
  role: PeerRole;
  clusterId: string;
}

/** What grpc-js reports about a call's TLS session. */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>["getAuthContext"]>;

/** The part of a grpc-js server call this module reads (every server call kind has it). */
export interface CallWithAuth {
  getAuthContext(): AuthContext;
  getPath(): string;
}

/**
 * Identities already read, by the HTTP/2 session (one per connection) they arrived on. A TLS
 * connection's client certificate is fixed by its handshake, while grpc-js reads and parses it
 * again (`getPeerCertificate()`) on every `getAuthContext()`: a few percent of a manager's CPU
 * when every call is authorized. Entries go with their sessions.
 */
const identityBySession = new WeakMap<object, PeerIdentity>();

/**
 * The caller's identity from its verified client certificate. Throws UnauthenticatedError when the
 * connection has none (no certificate, or one the TLS layer did not verify). Read once per
 * connection and remembered for the connection's later calls.
 */
export function peerIdentity(call: CallWithAuth): PeerIdentity {
  const session = http2Session(call);
  const known = session && identityBySession.get(session);
  if (known) return known;
  const peer = readPeerIdentity(call);
  if (session) identityBySession.set(session, peer);
  return peer;
}

/**
 * The HTTP/2 session of a grpc-js server call (`call.call[.nextCall...].stream.session`), or
 * undefined when grpc-js internals do not look like that (the caller then reads the certificate
 * every time: slower, never wrong).
 */
function http2Session(call: CallWithAuth): object | undefined {
  let c = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && typeof c === "object" && c !== null; depth++) {
    const stream = (c as { stream?: { session?: unknown } }).stream;
    if (stream !== undefined) {
      const session = stream?.session;
      return typeof session === "object" && session !== null ? session : undefined;
    }
    c = (c as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

function readPeerIdentity(call: CallWithAuth): PeerIdentity {
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
  return Object.freeze({ nodeId, role: role as PeerRole, clusterId: field(cert.subject?.O) });
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

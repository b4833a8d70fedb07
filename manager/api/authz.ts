/**
 * Who may call what (enforced on every gRPC method from the caller's verified certificate):
 * - nobody needs a certificate for `ClusterService/Join` (the join token is the credential);
 * - any member may renew its own certificate;
 * - workers may only use WorkerService, and only for their own node ID;
 * - managers may use everything (the Raft transport checks for managers on its own port);
 * - admin clients (the CLI) may use the admin API;
 * - a node removed from the cluster may call nothing, though its certificate has not expired
 *   ({@link refuseRemoved}).
 * @module
 */
import { NotMemberError, UnauthenticatedError } from "../../proto/errors.ts";
import {
  authorize,
  type CallWithAuth,
  type PeerIdentity,
  type PeerRole,
} from "../../net/grpc/tls.ts";

/** Checks a call; returns the caller (undefined on an insecure test server). */
export type Guard = (
  call: CallWithAuth,
  method: string,
  nodeId?: string,
) => PeerIdentity | undefined;

const ADMIN: readonly PeerRole[] = ["admin", "manager"];
const ANY: readonly PeerRole[] = ["admin", "manager", "worker"];

/** Roles allowed per method; methods not listed are admin/manager only. */
const POLICY: Record<string, readonly PeerRole[] | "public"> = {
  "ClusterService/Join": "public",
  "ClusterService/RenewCertificate": ANY,
  // A node may remove itself (checked in the handler); admins and managers any node.
  "ClusterService/Leave": ANY,
  "WorkerService/Register": ["worker", "manager"],
  "WorkerService/Heartbeat": ["worker", "manager"],
  "WorkerService/Assignments": ["worker", "manager"],
  "WorkerService/ReportStatus": ["worker", "manager"],
  // A worker's tunnel for logs and exec (checked again for the node it names).
  "TunnelService/Open": ["worker", "manager"],
  // Autolock: people hold the unlock key, managers get it sealed through Raft. A manager
  // certificate (plain on every manager's disk) must not fetch it, or a copied data directory
  // could unlock itself.
  "ClusterService/GetUnlockKey": ["admin"],
  "ClusterService/UpdateAutolock": ["admin"],
  "ClusterService/Unlock": ["admin"],
};

/** The guard of a mutual-TLS server. */
export const tlsGuard: Guard = (call, method, nodeId) => {
  const allowed = POLICY[method] ?? ADMIN;
  if (allowed === "public") return undefined;
  const peer = authorize(call, allowed);
  // A worker speaks only for itself.
  if (peer.role === "worker" && nodeId !== undefined) {
    authorize(call, allowed, { nodeIdMustBe: nodeId });
  }
  return peer;
};

/**
 * `guard`, also refusing the certificates of nodes removed from the cluster (`node rm`, `cluster
 * leave`, as `removed` says): a certificate stays valid until it expires, and a removed manager's
 * would otherwise keep the whole admin API. WorkerService is left to the dispatcher, which tells
 * a removed worker that it is no longer a member (the worker then stops its tasks), and
 * `ClusterService/Leave` answers a removed node that it is not a member (NotMemberError).
 */
export function refuseRemoved(guard: Guard, removed: (nodeId: string) => boolean): Guard {
  return (call, method, nodeId) => {
    const peer = guard(call, method, nodeId);
    if (
      peer !== undefined && peer.role !== "admin" && removed(peer.nodeId) &&
      !method.startsWith("WorkerService/")
    ) {
      // `cluster leave` on the removed node: the definitive "not a member" that lets it clean up
      // its host and forget the membership, rather than an authentication failure it would report.
      if (method === "ClusterService/Leave") throw new NotMemberError(peer.nodeId);
      throw new UnauthenticatedError(
        `node ${peer.nodeId} was removed from the cluster: its certificate is no longer accepted`,
      );
    }
    return peer;
  };
}

/** The guard of an insecure server (tests only): lets everything through. */
export const openGuard: Guard = () => undefined;

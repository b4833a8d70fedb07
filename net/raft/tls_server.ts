/**
 * The receiving half of the framed Raft transport: a node:tls server (mutual TLS with the
 * cluster CA) or, for in-process tests, a plain TCP one. Each connection starts with a
 * handshake frame naming cluster, sender and receiver; the server checks it, and with TLS checks
 * it against the client's certificate too (role, cluster, node ID), then hands every later frame
 * to `onMessages`, one call per socket read.
 *
 * ```
 * TLS handshake (client cert from the cluster CA required)
 *   → frame 1: handshake — wrong cluster, wrong receiver, role not allowed, CN ≠ fromId → close
 *   → frames 2..: messages → onMessages(fromId, [...frames of this read])
 *   (from a sender removed from the cluster, isRemoved, at any read: notice "removed", close)
 * ```
 * A removed manager restarted on its old data directory still believes itself a member and
 * campaigns; the notice is how it learns otherwise (etcd answers such a member 410 Gone).
 * Renewal: the server reads the identity's current material for each new connection (its
 * secure context is replaced on every `identity.update`); open connections keep theirs.
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { PeerRole } from "../grpc/tls_peer.ts";
import type { TlsIdentity } from "../grpc/tls.ts";
import { type Logger, logger } from "../../proto/log.ts";
import {
  decodeHandshake,
  encodeFrames,
  encodeNotice,
  FrameReader,
  type Handshake,
  MAX_FRAME_BYTES,
} from "./frame.ts";
import { reasonOf, splitHostPort, tlsOptions, verifiedPeer } from "./_tls_conn.ts";

/** Options of {@link startTlsRaftServer}. */
export interface TlsRaftServerOptions {
  /** Listen address `host:port`; port 0 picks a free one. */
  address: string;
  /** Mutual TLS material; undefined serves plain TCP (in-process tests only). */
  identity?: TlsIdentity;
  clusterId: string;
  selfId: string;
  /** Receives the messages of one socket read, in the order sent. */
  onMessages: (fromId: string, messages: Uint8Array[]) => void;
  /**
   * Whether node `fromId` was removed from the cluster: its connection is answered with a
   * "removed" notice and closed, and its messages never reach `onMessages`.
   */
  isRemoved?: (fromId: string) => boolean;
  /** The certificate role that may send Raft messages. Default "manager". */
  allowedRole?: PeerRole;
  /** A connection that sends no handshake within this long is closed. Default 5,000. */
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  log?: Logger;
}

/** A running Raft server. */
export interface TlsRaftServer {
  /** The port it listens on. */
  readonly port: number;
  /** Connections open now (handshaken or not). */
  readonly connections: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startTlsRaftServer(opts: TlsRaftServerOptions): Promise<TlsRaftServer> {
  const log = opts.log ?? logger("raft-transport", { node: opts.selfId });
  const sockets = new Set<net.Socket>();
  const { identity } = opts;
  // Removed nodes told so, logged once each (an older one keeps reconnecting every second).
  const toldRemoved = new Set<string>();
  const accept = (sock: net.Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    serveConnection(sock, opts, log, toldRemoved);
  };
  let server: net.Server;
  let unwatch = () => {};
  if (identity) {
    const secure = tls.createServer({
      ...tlsOptions(identity.current),
      requestCert: true,
      rejectUnauthorized: true,
    });
    secure.on("secureConnection", accept);
    // Refused handshakes (no certificate, another CA) never reach `accept`; note them.
    secure.on("tlsClientError", (err, sock) => {
      log.warn("refused a Raft connection", {
        remote: sock?.remoteAddress,
        reason: reasonOf(err),
      });
    });
    const renew = () => {
      try {
        secure.setSecureContext(tlsOptions(identity.current));
      } catch (err) {
        log.error("could not use the renewed certificate for Raft", { err });
      }
    };
    identity.addIdentityCertificateListener(renew);
    unwatch = () => identity.removeIdentityCertificateListener(renew);
    server = secure;
  } else {
    server = net.createServer(accept);
  }
  const { host, port } = splitHostPort(opts.address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error("raft server error", { err }));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return sockets.size;
    },
    close: async () => {
      unwatch();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Reads one connection: handshake first, then message frames. */
function serveConnection(
  sock: net.Socket,
  opts: TlsRaftServerOptions,
  log: Logger,
  toldRemoved: Set<string>,
): void {
  sock.setNoDelay(true);
  const reader = new FrameReader({ maxFrameBytes: opts.maxFrameBytes ?? MAX_FRAME_BYTES });
  let from: string | undefined;
  let told = false;
  const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
    log.warn("closed a Raft connection", { remote: sock.remoteAddress, reason, ...fields });
    sock.destroy();
  };
  const timer = setTimeout(
    () => refuse("no handshake in time"),
    opts.handshakeTimeoutMs ?? 5000,
  );
  sock.on("close", () => clearTimeout(timer));
  const tellRemoved = (fromId: string) => {
    if (!toldRemoved.has(fromId)) {
      toldRemoved.add(fromId);
      log.warn("refused the Raft connection of a node removed from the cluster", {
        from: fromId,
        remote: sock.remoteAddress,
      });
    }
    // Half-closes after the notice; what the sender writes meanwhile is read and dropped
    // (closing with unread bytes would reset the connection, and the notice with it).
    told = true;
    sock.end(encodeFrames([encodeNotice({ kind: "removed" })]));
    // A sender that never closes its side is cut off.
    const linger = setTimeout(() => sock.destroy(), opts.handshakeTimeoutMs ?? 5000);
    sock.on("close", () => clearTimeout(linger));
  };
  sock.on("error", () => {/* 'close' follows; a reset peer is routine */});
  sock.on("data", (chunk: Uint8Array) => {
    if (told) return;
    let frames: Uint8Array[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      return refuse(reasonOf(err), { from });
    }
    if (frames.length === 0) return;
    if (from === undefined) {
      let h: Handshake;
      try {
        h = decodeHandshake(frames.shift()!);
      } catch (err) {
        return refuse(reasonOf(err));
      }
      const bad = checkHandshake(h, sock, opts);
      if (bad) return refuse(bad, { from: h.fromId });
      clearTimeout(timer);
      from = h.fromId;
    }
    // Checked at every read, not only at the handshake: a node removed while connected is told
    // as soon as it speaks again.
    if (opts.isRemoved?.(from)) return tellRemoved(from);
    if (frames.length === 0) return;
    try {
      opts.onMessages(from, frames);
    } catch (err) {
      // Thrown from a socket handler it would crash the process; drop this connection instead.
      refuse(`messages refused: ${reasonOf(err)}`, { from });
    }
  });
}

/** Why a handshake is refused, or undefined when it is fine. */
function checkHandshake(
  h: Handshake,
  sock: net.Socket,
  opts: TlsRaftServerOptions,
): string | undefined {
  if (h.clusterId !== opts.clusterId) {
    return `handshake for cluster ${h.clusterId}, this is ${opts.clusterId}`;
  }
  if (h.toId !== opts.selfId) return `handshake for node ${h.toId}, this is ${opts.selfId}`;
  if (!opts.identity) return undefined;
  const peer = verifiedPeer(sock as tls.TLSSocket);
  if (typeof peer === "string") return peer;
  const role = opts.allowedRole ?? "manager";
  if (peer.role !== role) return `role ${peer.role} may not send Raft messages`;
  if (peer.clusterId !== opts.clusterId) {
    return `certificate of cluster ${peer.clusterId}, this is ${opts.clusterId}`;
  }
  if (peer.nodeId !== h.fromId) {
    return `certificate of node ${peer.nodeId} may not speak for node ${h.fromId}`;
  }
  return undefined;
}

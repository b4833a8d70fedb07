/**
 * Raft transport between managers over length-prefixed frames on one persistent mutual-TLS
 * connection per peer (node:tls), replacing gRPC: on Deno, node:http2 costs ~200 µs per message
 * per side, a framed socket costs one write per batch. Messages are opaque bytes here (net/
 * knows nothing of Raft's types).
 *
 * ```
 * node.send(to, bytes) → PeerConn (bounded queue; drops when full → onUnreachable)
 *                          │ everything queued in one turn = one socket write of frames
 *                          ▼
 *           one TLS connection per peer: handshake frame, then message frames;
 *           reconnects with backoff 100 ms → 1 s (failure → onUnreachable)
 *                          ▼
 *  peer's startTlsRaftServer: client cert role + cluster + node ID checked → onMessages(from, msgs)
 *                          (or, this node having been removed: notice "removed" → onRemoved(peer))
 * ```
 * The client dials peers by address and verifies the server certificate under
 * {@link MANAGER_SERVER_NAME}, then checks it is a manager of this cluster with the expected node
 * ID. Each new connection uses the identity's current certificate (renewal needs no restart).
 * Without an identity it speaks plain TCP: in-process tests only.
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { MANAGER_SERVER_NAME } from "../grpc/tls_peer.ts";
import type { TlsIdentity } from "../grpc/tls.ts";
import { encodeFrames, encodeHandshake } from "./frame.ts";
import { PeerConn, type PeerConnStats } from "./_peer_conn.ts";
import { splitHostPort, tlsOptions, verifiedPeer } from "./_tls_conn.ts";

export { startTlsRaftServer, type TlsRaftServer, type TlsRaftServerOptions } from "./tls_server.ts";
export type { PeerConnStats } from "./_peer_conn.ts";

/** Options of a {@link TlsRaftTransport}. */
export interface TlsRaftTransportOptions {
  clusterId: string;
  selfId: string;
  /** Mutual TLS material; undefined dials plain TCP (in-process tests only). */
  identity?: TlsIdentity;
  /** Called when messages to `peerId` were dropped or lost with a failed connection. */
  onUnreachable?: (peerId: string, reason: string) => void;
  /**
   * Called when `peerId` refused this node's connection because its replicated state records
   * this node as removed from the cluster (once per refused connection).
   */
  onRemoved?: (peerId: string) => void;
  /** Most messages queued per peer; past it new ones are dropped. Default 4,096. */
  maxQueueMsgs?: number;
  /** Most bytes queued per peer. Default 64 MiB. */
  maxQueueBytes?: number;
  /** Most bytes in one socket write (a single larger message still goes alone). Default 4 MiB. */
  maxBatchBytes?: number;
  /** Longest a connect, TLS handshake or write may take before the connection is reset. Default 2 s. */
  writeTimeoutMs?: number;
  /** First wait before reconnecting. Default 100. */
  initialBackoffMs?: number;
  /** Longest wait before reconnecting. Default 1,000. */
  maxBackoffMs?: number;
}

interface Peer {
  address: string;
  conn: PeerConn;
}

/** Sends Raft messages to peers over framed (mutual TLS) connections. */
export class TlsRaftTransport {
  readonly #o: TlsRaftTransportOptions;
  readonly #peers = new Map<string, Peer>();

  constructor(opts: TlsRaftTransportOptions) {
    this.#o = opts;
  }

  /** Records or updates the address of `id`; a changed address gets a new connection. */
  setPeer(id: string, address: string): void {
    const cur = this.#peers.get(id);
    if (cur?.address === address) return;
    if (cur) this.removePeer(id);
    const { host, port } = splitHostPort(address);
    const o = this.#o;
    const hello = encodeFrames([
      encodeHandshake({ clusterId: o.clusterId, fromId: o.selfId, toId: id }),
    ]);
    const conn = new PeerConn({
      connect: (onReady) => {
        if (!o.identity) {
          const sock = net.connect({ host, port }, () => {
            sock.write(hello);
            onReady();
          });
          return sock;
        }
        const sock = tls.connect({
          host,
          port,
          ...tlsOptions(o.identity.current),
          servername: MANAGER_SERVER_NAME,
          rejectUnauthorized: true,
        });
        sock.once("secureConnect", () => {
          const bad = checkServer(sock, o.clusterId, id);
          if (bad) {
            sock.destroy(new Error(bad));
            return;
          }
          sock.write(hello);
          onReady();
        });
        return sock;
      },
      maxQueueMsgs: o.maxQueueMsgs ?? 4096,
      maxQueueBytes: o.maxQueueBytes ?? 64 << 20,
      maxBatchBytes: o.maxBatchBytes ?? 4 << 20,
      writeTimeoutMs: o.writeTimeoutMs ?? 2000,
      initialBackoffMs: o.initialBackoffMs ?? 100,
      maxBackoffMs: o.maxBackoffMs ?? 1000,
      onUnreachable: (reason) => o.onUnreachable?.(id, reason),
      onNotice: (n) => {
        if (n.kind === "removed") o.onRemoved?.(id);
      },
    });
    this.#peers.set(id, { address, conn });
  }

  /** Forgets `id`, dropping what is queued for it and closing its connection. */
  removePeer(id: string): void {
    const p = this.#peers.get(id);
    if (!p) return;
    this.#peers.delete(id);
    p.conn.close();
  }

  /** Queues one encoded message for `to`; unknown peers count as unreachable. */
  send(to: string, msg: Uint8Array): void {
    const p = this.#peers.get(to);
    if (!p) {
      this.#o.onUnreachable?.(to, "unknown peer");
      return;
    }
    p.conn.send(msg);
  }

  /** Per-peer counters (sent, batches = socket writes, dropped, failed connections). */
  stats(): Record<string, PeerConnStats> {
    return Object.fromEntries([...this.#peers].map(([id, p]) => [id, { ...p.conn.stats }]));
  }

  /** Whether a connection to `id` is up now (for tests and status pages). */
  connected(id: string): boolean {
    return this.#peers.get(id)?.conn.connected ?? false;
  }

  /** Closes every connection. */
  close(): void {
    for (const id of [...this.#peers.keys()]) this.removePeer(id);
  }
}

/** Why the server on `sock` is not manager `peerId` of this cluster, or undefined. */
function checkServer(sock: tls.TLSSocket, clusterId: string, peerId: string): string | undefined {
  const peer = verifiedPeer(sock);
  if (typeof peer === "string") return peer;
  if (peer.role !== "manager") return `Raft peer ${peerId} presented a ${peer.role} certificate`;
  if (peer.clusterId !== clusterId) {
    return `Raft peer ${peerId} belongs to cluster ${peer.clusterId}, not ${clusterId}`;
  }
  if (peer.nodeId !== peerId) return `dialed Raft peer ${peerId}, reached ${peer.nodeId}`;
  return undefined;
}

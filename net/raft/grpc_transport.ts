/**
 * Raft transport over gRPC between managers: a {@link PeerSender} per peer batching encoded
 * messages, written as `RaftBatch`es on one long-lived `RaftService/Stream` call per peer
 * ({@link PeerStream}; unary `Send` calls for peers without it), and the server-side handler
 * that hands received batches to the node. Messages are opaque bytes here (net/ knows nothing
 * of Raft's types).
 *
 * ```
 * node.send(to, bytes) → PeerSender (bounded queue, drops when full → onUnreachable)
 *                          │ batches, ≤ maxInflightBatches unflushed
 *                          ▼
 *                        PeerStream ── one Stream call; reopened with backoff on failure
 *                          │                                  (failure → onUnreachable)
 *                          ▼
 *            peer's raftService: checks cluster and node IDs → onMessages(from, msgs)
 * ```
 * @module
 */
import {
  type ChannelCredentials,
  credentials as grpcCredentials,
  Metadata,
  status,
} from "@grpc/grpc-js";
import type { ChannelOptions, ServiceError } from "@grpc/grpc-js";
import {
  type RaftBatch,
  RaftServiceClient,
  type RaftServiceServer,
  RaftServiceService,
} from "../../proto/gen/warren.ts";
import { PeerSender } from "./peer_sender.ts";
import { PeerStream } from "./peer_stream.ts";
import type { HostedService } from "../grpc/server.ts";

/** Options of a {@link GrpcRaftTransport}. */
export interface GrpcRaftTransportOptions {
  clusterId: string;
  selfId: string;
  /** Channel credentials; insecure by default (the security layer passes mTLS ones). */
  credentials?: ChannelCredentials;
  /** Extra channel options per peer (e.g. TLS target name override). */
  channelOptions?: (peerId: string) => ChannelOptions;
  /** Called when messages to `peerId` were dropped or could not be delivered. */
  onUnreachable?: (peerId: string) => void;
  /**
   * Deadline of one batch: a unary call's deadline, or how long a streamed batch may wait to be
   * flushed before the stream is reset. Default 2 s.
   */
  sendTimeoutMs?: number;
  /**
   * "stream" (default): one long-lived `RaftService/Stream` call per peer, falling back to unary
   * calls for a peer that does not implement it. "unary": one `Send` call per batch.
   */
  mode?: "stream" | "unary";
  maxQueueMsgs?: number;
  maxBatchBytes?: number;
  maxInflightBatches?: number;
}

interface Peer {
  address: string;
  client: RaftServiceClient;
  sender: PeerSender;
  /** The long-lived stream; undefined in unary mode or once the peer proved not to have it. */
  stream: PeerStream<RaftBatch> | undefined;
}

/** Sends Raft messages to peers over gRPC. */
export class GrpcRaftTransport {
  readonly #o: GrpcRaftTransportOptions;
  readonly #peers = new Map<string, Peer>();

  constructor(opts: GrpcRaftTransportOptions) {
    this.#o = opts;
  }

  /** Records or updates the address of `id`; a changed address gets a new channel. */
  setPeer(id: string, address: string): void {
    const cur = this.#peers.get(id);
    if (cur?.address === address) return;
    if (cur) this.removePeer(id);
    const client = new RaftServiceClient(
      address,
      this.#o.credentials ?? grpcCredentials.createInsecure(),
      {
        "grpc.max_send_message_length": 16 << 20,
        "grpc.max_receive_message_length": 16 << 20,
        // Reconnect fast after a peer restarts: failover time depends on it.
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        ...this.#o.channelOptions?.(id),
      },
    );
    const timeoutMs = this.#o.sendTimeoutMs ?? 2000;
    const unary = (batch: RaftBatch) =>
      new Promise<void>((resolve, reject) => {
        client.send(
          batch,
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err: ServiceError | null) => err ? reject(err) : resolve(),
        );
      });
    const peer: Peer = {
      address,
      client,
      sender: undefined as unknown as PeerSender,
      stream: undefined,
    };
    if (this.#o.mode !== "unary") {
      peer.stream = new PeerStream<RaftBatch>({
        open: (onEnd) => client.stream((err: ServiceError | null) => onEnd(err)),
        writeTimeoutMs: timeoutMs,
        onStreamError: (err) => {
          // A peer without the streaming RPC (an older version) still takes unary batches.
          if ((err as Partial<ServiceError>).code === status.UNIMPLEMENTED) {
            peer.stream?.close();
            peer.stream = undefined;
            return;
          }
          // gRPC buffers early writes, so a failed stream may have no batch left to fail:
          // report the peer here, or Raft would keep pipelining into a dead stream.
          this.#o.onUnreachable?.(id);
        },
      });
    }
    peer.sender = new PeerSender({
      send: (messages) => {
        const batch: RaftBatch = {
          clusterId: this.#o.clusterId,
          fromId: this.#o.selfId,
          toId: id,
          messages,
        };
        return peer.stream ? peer.stream.send(batch) : unary(batch);
      },
      maxQueueMsgs: this.#o.maxQueueMsgs,
      maxBatchBytes: this.#o.maxBatchBytes,
      maxInflightBatches: this.#o.maxInflightBatches,
      onUnreachable: () => this.#o.onUnreachable?.(id),
    });
    this.#peers.set(id, peer);
  }

  /** Forgets `id`, dropping what is queued for it. */
  removePeer(id: string): void {
    const p = this.#peers.get(id);
    if (!p) return;
    this.#peers.delete(id);
    p.sender.close();
    p.stream?.close();
    p.client.close();
  }

  /** Queues one encoded message for `to`; unknown peers count as unreachable. */
  send(to: string, msg: Uint8Array): void {
    const p = this.#peers.get(to);
    if (!p) {
      this.#o.onUnreachable?.(to);
      return;
    }
    p.sender.enqueue(msg);
  }

  /** Per-peer counters (sent, dropped, failed). */
  stats(): Record<string, PeerSender["stats"]> {
    return Object.fromEntries([...this.#peers].map(([id, p]) => [id, { ...p.sender.stats }]));
  }

  /** Closes every channel. */
  close(): void {
    for (const id of [...this.#peers.keys()]) this.removePeer(id);
  }
}

/**
 * The server half: checks that a batch is for this cluster and node, then hands it over.
 * `authorize` (from the security layer) may reject callers that are not managers.
 */
export function raftService(opts: {
  clusterId: string;
  selfId: string;
  onMessages: (fromId: string, messages: Uint8Array[]) => void;
}): HostedService {
  const check = (b: RaftBatch): { code: status; details: string } | undefined => {
    if (b.clusterId !== opts.clusterId) {
      return {
        code: status.PERMISSION_DENIED,
        details: `raft batch for cluster ${b.clusterId}, this is ${opts.clusterId}`,
      };
    }
    if (b.toId !== opts.selfId) {
      return {
        code: status.FAILED_PRECONDITION,
        details: `raft batch for node ${b.toId}, this is ${opts.selfId}`,
      };
    }
    return undefined;
  };
  const implementation: RaftServiceServer = {
    send: (call, cb) => {
      const bad = check(call.request);
      if (bad) return cb(bad);
      opts.onMessages(call.request.fromId, call.request.messages);
      cb(null, { accepted: call.request.messages.length });
    },
    stream: (call, cb) => {
      // Long-lived: answered when the client half-closes, or at once with an error when a batch
      // is refused (the client then reopens, and is refused again if it is still wrong).
      let accepted = 0;
      let done = false;
      const finish = (err: { code: status; details: string } | null) => {
        if (done) return;
        done = true;
        err ? cb(err) : cb(null, { accepted });
      };
      call.on("data", (b: RaftBatch) => {
        if (done) return;
        const bad = check(b);
        if (bad) return finish(bad);
        try {
          opts.onMessages(b.fromId, b.messages);
        } catch (err) {
          // Thrown from an event handler it would crash the process; end this stream instead.
          return finish({
            code: status.INTERNAL,
            details: `raft batch refused: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
        accepted += b.messages.length;
      });
      call.on("end", () => finish(null));
      // A cancelled or broken stream needs no answer; just stop counting.
      call.on("error", () => (done = true));
      call.on("cancelled", () => (done = true));
    },
  };
  return { definition: RaftServiceService, implementation };
}

/**
 * A gRPC channel from a follower to the current leader, for calls that only the leader can
 * serve (log and exec streams go through the worker tunnels it holds). On a mutual-TLS cluster
 * the follower presents a manager certificate it issues itself from the cluster keys (kept in
 * memory for this process, issued again once half its lifetime has passed); on an insecure test
 * cluster the channel is plain text.
 * @module
 */
import { Client, credentials as grpcCredentials } from "@grpc/grpc-js";
import { NotLeaderError, UnavailableError } from "../../proto/errors.ts";
import { channelCredentials, channelOptionsFor, MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { NODE_CERT_LIFETIME_MS } from "../cluster_keys.ts";
import type { ApiContext } from "./context.ts";
import { managerPeers } from "./membership.ts";

/** Opens channels to the leader; one cached channel per leader address. */
export class LeaderChannel {
  readonly #ctx: ApiContext;
  readonly #secure: boolean;
  #creds: ReturnType<typeof grpcCredentials.createInsecure> | undefined;
  /** When the certificate behind {@link LeaderChannel.#creds} must be issued again. */
  #renewAt = Infinity;
  #client: { address: string; client: Client } | undefined;

  constructor(ctx: ApiContext, opts: { secure: boolean }) {
    this.#ctx = ctx;
    this.#secure = opts.secure;
  }

  /**
   * A client for the leader.
   * @throws NotLeaderError when no leader is known, UnavailableError without its address
   */
  async client(): Promise<Client> {
    const leaderId = this.#ctx.raft.leader.leaderId;
    if (!leaderId) throw new NotLeaderError(undefined);
    const peer = managerPeers(this.#ctx).find((p) => p.nodeId === leaderId);
    if (!peer) {
      throw new UnavailableError(`the leader (${leaderId}) has no API address on record yet`);
    }
    if (this.#secure && this.#ctx.now() >= this.#renewAt) {
      // A channel keeps the certificate it was made with: renew both.
      this.#creds = undefined;
      this.close();
    }
    if (this.#client?.address === peer.apiAddress) return this.#client.client;
    this.#client?.client.close();
    const creds = await this.#credentials();
    const client = new Client(
      peer.apiAddress,
      creds,
      this.#secure ? channelOptionsFor(MANAGER_SERVER_NAME) : {},
    );
    this.#client = { address: peer.apiAddress, client };
    return client;
  }

  /** Closes the cached channel. */
  close(): void {
    this.#client?.client.close();
    this.#client = undefined;
  }

  async #credentials() {
    if (this.#creds) return this.#creds;
    if (!this.#secure) return this.#creds = grpcCredentials.createInsecure();
    const keys = await this.#ctx.keys();
    const now = this.#ctx.now();
    const own = await keys.issue({ nodeId: this.#ctx.nodeId, role: "manager", sans: [], now });
    this.#renewAt = now + NODE_CERT_LIFETIME_MS / 2;
    return this.#creds = channelCredentials({ caPem: keys.ca.certPem, ...own });
  }
}

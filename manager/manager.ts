/**
 * One manager: Raft (Deno KV) + replicated store + API (gRPC and REST) + metrics, started and
 * stopped as a unit. Bootstraps a new cluster on `init`, or resumes from its data directory.
 *
 * ```
 *  gRPC api ─┐                      ┌─► Raft transport (gRPC) ◄─► other managers
 *  REST ─────┼─► handlers ─► RaftNode ─► KvStorage (Deno KV)
 *            │       ▲          │ committed entries
 *            └───────┴── Store ◄┘ (FSM, change feed)
 * ```
 * @module
 */
import { join } from "node:path";
import { type Identity, readIdentity, writeIdentity } from "./identity.ts";
import { KvStorage } from "./raft/kv_storage.ts";
import { RaftNode } from "./raft/node.ts";
import { Store } from "./state/store.ts";
import { type ApiContext, randomId, write } from "./api/context.ts";
import { apiServices } from "./api/grpc.ts";
import { restApp, type RouteHook } from "./api/rest.ts";
import { registerManagerMetrics } from "./metrics.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher/dispatcher.ts";
import { workerService } from "./dispatcher/grpc.ts";
import { Orchestrator, type OrchestratorOptions } from "./orchestrator/orchestrator.ts";
import { hostName, hostPlatform, hostResources } from "./host_info.ts";
import { GrpcRaftTransport, raftService } from "../net/raft/grpc_transport.ts";
import { type GrpcServer, type HostedService, startGrpcServer } from "../net/grpc/server.ts";
import { Registry } from "../net/http/metrics.ts";
import { type ClusterCidrs, ClusterCidrsSchema, type Node } from "../proto/schema/mod.ts";
import { FailedPreconditionError, UnavailableError, ValidationError } from "../proto/errors.ts";
import { VERSION } from "../proto/version.ts";
import { type Logger, logger } from "../proto/log.ts";

/** Options of {@link Manager.start}. */
export interface ManagerOptions {
  dataDir: string;
  /** gRPC API listen address `host:port`. */
  apiAddr: string;
  /** Raft transport listen address `host:port`. */
  raftAddr: string;
  /** REST, health and metrics listen address `host:port`. */
  httpAddr: string;
  /** Address other nodes reach this one at (host only; ports come from the listen addresses). */
  advertiseAddr: string;
  /** Create a new cluster when the data directory is empty. */
  init?: { clusterName?: string; cidrs?: Partial<ClusterCidrs> };
  /** Milliseconds per Raft tick (heartbeat). Default 50. */
  tickMs?: number;
  /** Extra gRPC services and REST routes from other layers (security, dispatcher). */
  extraServices?: (ctx: ApiContext) => HostedService[];
  extraRoutes?: RouteHook[];
  /** Worker session settings (heartbeat period, batching). */
  dispatcher?: DispatcherOptions;
  /** Reconcile loop settings (node down period, history, strategy). */
  orchestrator?: Omit<OrchestratorOptions, "lastSeen">;
}

/** A running manager. */
export class Manager {
  readonly log: Logger;
  #stopping: Promise<void> | undefined;

  private constructor(
    readonly identity: Identity,
    readonly ctx: ApiContext,
    readonly raft: RaftNode,
    readonly store: Store,
    readonly apiPort: number,
    readonly raftPort: number,
    readonly httpPort: number,
    readonly metrics: Registry,
    readonly dispatcher: Dispatcher,
    readonly orchestrator: Orchestrator,
    readonly advertiseAddr: string,
    readonly close: () => Promise<void>,
  ) {
    this.log = logger("manager", { node: identity.nodeId });
  }

  /** The gRPC API address clients should use. */
  get apiAddress(): string {
    return `${this.advertiseAddr}:${this.apiPort}`;
  }
  /** The Raft address peers use. */
  get raftAddress(): string {
    return `${this.advertiseAddr}:${this.raftPort}`;
  }

  /** Starts a manager from `opts.dataDir`, bootstrapping a cluster when asked and empty. */
  static async start(opts: ManagerOptions): Promise<Manager> {
    const log = logger("manager");
    let identity = await readIdentity(opts.dataDir);
    const fresh = identity === undefined;
    if (!identity) {
      if (!opts.init) {
        throw new FailedPreconditionError(
          `${opts.dataDir} holds no Warren node: run 'warren cluster init' or 'warren join' first`,
        );
      }
      identity = { nodeId: randomId(), clusterId: randomId(), role: "manager" };
    }
    const cidrs = ClusterCidrsSchema.parse(opts.init?.cidrs ?? {});
    const closers: (() => Promise<void> | void)[] = [];
    const closeAll = async () => {
      for (const c of closers.reverse()) {
        try {
          await c();
        } catch (err) {
          log.warn("error while stopping", { err });
        }
      }
    };
    try {
      await Deno.mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
      const kv = await Deno.openKv(join(opts.dataDir, "raft.kv"));
      closers.push(() => kv.close());
      const storage = await KvStorage.open(kv);
      const store = new Store();
      const ref: { node?: RaftNode } = {};
      const raftServer = await startGrpcServer({
        address: opts.raftAddr,
        services: [raftService({
          clusterId: identity.clusterId,
          selfId: identity.nodeId,
          onMessages: (_from, msgs) => ref.node?.receive(msgs),
        })],
      });
      closers.push(() => raftServer.stop(500));
      const transport = new GrpcRaftTransport({
        clusterId: identity.clusterId,
        selfId: identity.nodeId,
        onUnreachable: (peer) => ref.node?.reportUnreachable(peer),
      });
      closers.push(() => transport.close());
      const raftAddress = `${opts.advertiseAddr}:${raftServer.port}`;
      if (fresh) {
        await RaftNode.bootstrap(storage, {
          id: identity.nodeId,
          address: raftAddress,
          stateMachine: store,
        });
        await writeIdentity(opts.dataDir, identity);
      }
      const raftLog = logger("raft", { node: identity.nodeId });
      const raft = new RaftNode({
        id: identity.nodeId,
        address: raftAddress,
        storage,
        transport,
        stateMachine: store,
        tickMs: opts.tickMs ?? 50,
        onError: (err) => raftLog.error("raft node error", { err }),
      });
      ref.node = raft;
      raft.onLeaderChange((l) =>
        raftLog.info(l.isLeader ? "became leader" : "leader changed", {
          leader: l.leaderId || null,
          term: l.term,
        })
      );
      raft.start();
      closers.push(() => raft.stop());

      const metrics = new Registry();
      const ctx: ApiContext = {
        store,
        raft,
        now: Date.now,
        newId: randomId,
        nodeId: identity.nodeId,
        version: VERSION,
      };
      const m = registerManagerMetrics(metrics, ctx);
      ctx.observeCommit = (ms) => m.commitLatency.observe(ms);

      const observe = (method: string, ms: number, code: string) =>
        m.apiLatency.observe(ms, { method, code });
      const dispatcher = new Dispatcher(ctx, opts.dispatcher);
      closers.push(() => dispatcher.close());
      const orchestrator = new Orchestrator(ctx, {
        ...opts.orchestrator,
        lastSeen: (id) => dispatcher.lastSeen(id),
      });
      orchestrator.start();
      closers.push(() => orchestrator.stop());
      const apiServer: GrpcServer = await startGrpcServer({
        address: opts.apiAddr,
        services: [
          ...apiServices(ctx, observe),
          workerService(dispatcher, { observe }),
          ...(opts.extraServices?.(ctx) ?? []),
        ],
      });
      closers.push(() => apiServer.stop(500));

      const app = restApp(ctx, {
        metrics,
        observe: (route, ms, status) =>
          m.apiLatency.observe(ms, { method: `REST ${route}`, code: String(status) }),
        extraRoutes: opts.extraRoutes,
      });
      const [httpHost, httpPortStr] = splitHostPort(opts.httpAddr, "httpAddr");
      const ac = new AbortController();
      const httpServer = Deno.serve(
        { hostname: httpHost, port: Number(httpPortStr), signal: ac.signal, onListen: () => {} },
        app.fetch,
      );
      closers.push(async () => {
        ac.abort();
        await httpServer.finished;
      });

      const mgr = new Manager(
        identity,
        ctx,
        raft,
        store,
        apiServer.port,
        raftServer.port,
        httpServer.addr.port,
        metrics,
        dispatcher,
        orchestrator,
        opts.advertiseAddr,
        closeAll,
      );
      if (fresh) await mgr.#initCluster(opts.init?.clusterName ?? "warren", cidrs);
      else if (identity.role === "manager") void mgr.#refreshSelf();
      mgr.log.info("manager started", {
        api: mgr.apiAddress,
        raft: mgr.raftAddress,
        http: `${httpHost}:${httpServer.addr.port}`,
        cluster: identity.clusterId,
      });
      return mgr;
    } catch (err) {
      await closeAll();
      throw err;
    }
  }

  /** Waits until some manager leads (bounded). */
  async waitForLeader(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.raft.leader.leaderId === "") {
      if (Date.now() > deadline) {
        throw new UnavailableError(`no Raft leader elected within ${timeoutMs} ms: no quorum`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Records the cluster and this manager as its first node. */
  async #initCluster(name: string, cidrs: ClusterCidrs): Promise<void> {
    await this.waitForLeader();
    const at = this.ctx.now();
    await write(this.ctx, {
      kind: "cluster.init",
      at,
      cluster: { id: this.identity.clusterId, name, createdAt: at, cidrs },
    });
    await write(this.ctx, { kind: "node.register", at, node: this.#selfNode(at) });
  }

  /** Re-registers this manager after a restart (addresses may have changed). */
  async #refreshSelf(): Promise<void> {
    try {
      await this.waitForLeader(30_000);
      await write(this.ctx, {
        kind: "node.register",
        at: this.ctx.now(),
        node: this.#selfNode(this.ctx.now()),
      });
    } catch (err) {
      this.log.warn("could not refresh this manager's node record", { err });
    }
  }

  #selfNode(at: number): Node {
    return {
      id: this.identity.nodeId,
      hostname: hostName(),
      role: "manager",
      addresses: { advertise: this.advertiseAddr, api: this.apiAddress, raft: this.raftAddress },
      labels: {},
      resources: hostResources(),
      platform: hostPlatform(),
      availability: "active",
      status: { state: "ready", message: "", lastHeartbeatAt: at },
      version: VERSION,
      createdAt: at,
      updatedAt: at,
    };
  }

  /** Stops serving and closes the data directory. Idempotent. */
  stop(): Promise<void> {
    return this.#stopping ??= this.close();
  }
}

/** Splits `host:port`, naming `field` in the error. */
export function splitHostPort(addr: string, field: string): [string, string] {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  const port = addr.slice(i + 1);
  if (i <= 0 || !/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new ValidationError(field, `must be host:port, got "${addr}"`);
  }
  return [host, port];
}

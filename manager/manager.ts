/**
 * One manager: Raft (Deno KV) + replicated store + API (gRPC and REST) + dispatcher +
 * orchestrator + metrics, with mutual TLS on every port (gRPC API, framed Raft transport),
 * started and stopped as a unit.
 * Bootstraps a new cluster (`init`), joins one (`join`), or resumes from its data directory.
 *
 * ```
 *  gRPC api (mTLS) ─┐                      ┌─► Raft frames (mTLS) ◄─► other managers
 *  REST ────────────┼─► handlers ─► RaftNode ─► KvStorage (Deno KV)
 *  workers ─► dispatcher ▲            │ committed entries
 *                   └────┴── Store ◄──┘ (FSM, change feed) ──► orchestrator ─► scheduler
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
import { publicRestApp, restApp, restHandler, type RouteHook } from "./api/rest.ts";
import { loadOrCreateRestToken } from "./api/rest_token.ts";
import { openGuard, refuseRemoved, tlsGuard } from "./api/authz.ts";
import { managerPeers, rotateJoinToken } from "./api/membership.ts";
import { secretsForWorker } from "./api/secrets.ts";
import { registerManagerMetrics } from "./metrics.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher/dispatcher.ts";
import { workerService } from "./dispatcher/grpc.ts";
import { Orchestrator, type OrchestratorOptions } from "./orchestrator/orchestrator.ts";
import { promoteCaughtUpLearners } from "./raft_membership.ts";
import { raiseFeatureLevelWhenReady } from "./feature_level_raiser.ts";
import { BINARY_FEATURE_LEVEL, FeatureLevelTooHighError } from "./state/fsm_feature_level.ts";
import { ClusterKeys, type KeyAndCert } from "./cluster_keys.ts";
import { keepKekFile } from "./kek_file_keeper.ts";
import { LocalKek } from "./local_kek.ts";
import type { ClusterSecurity } from "./state/commands.ts";
import { readTlsFiles, writeTlsFiles } from "./tls_files.ts";
import { hostName, hostPlatform, hostResources } from "./host_info.ts";
import { startTlsRaftServer, TlsRaftTransport } from "../net/raft/tls_transport.ts";
import { type GrpcServer, type HostedService, startGrpcServer } from "../net/grpc/server.ts";
import { serverCredentials, TlsIdentity } from "../net/grpc/tls.ts";
import { startRenewal } from "../net/grpc/renewal.ts";
import { Registry } from "../net/http/metrics.ts";
import {
  type ClusterCidrs,
  ClusterCidrsSchema,
  decodeBase64,
  type JoinResponse,
  type Node,
} from "../proto/schema/mod.ts";
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
  /** Join an existing cluster: the answer of ClusterService.Join and the key it certifies. */
  join?: { response: JoinResponse; keyPem: string };
  /** Plain-text gRPC, for in-process tests only; never offered by the CLI. */
  insecure?: boolean;
  /** Milliseconds per Raft tick (heartbeat). Default 50. */
  tickMs?: number;
  /** Extra gRPC services and REST routes from other layers. */
  extraServices?: (ctx: ApiContext) => HostedService[];
  extraRoutes?: RouteHook[];
  /** Worker session settings (heartbeat period, batching). */
  dispatcher?: DispatcherOptions;
  /** Reconcile loop settings (node down period, history, strategy). */
  orchestrator?: Omit<OrchestratorOptions, "lastSeen">;
  /**
   * The feature level this manager runs as (manager/state/fsm_feature_level.ts): tests inject
   * one to play an older or newer binary. Default {@link BINARY_FEATURE_LEVEL}.
   */
  featureLevel?: number;
  /** How often the leader checks whether to raise the cluster's feature level (default 200 ms). */
  featureLevelCheckMs?: number;
}

interface Parts {
  identity: Identity;
  ctx: ApiContext;
  raft: RaftNode;
  store: Store;
  apiPort: number;
  raftPort: number;
  httpPort: number;
  restToken: string;
  metrics: Registry;
  dispatcher: Dispatcher;
  orchestrator: Orchestrator;
  tls: TlsIdentity | undefined;
  advertiseAddr: string;
  featureLevel: number;
  removed: Promise<string>;
  close: () => Promise<void>;
}

/** A running manager. */
export class Manager {
  readonly log: Logger;
  readonly identity: Identity;
  readonly ctx: ApiContext;
  readonly raft: RaftNode;
  readonly store: Store;
  readonly apiPort: number;
  readonly raftPort: number;
  readonly httpPort: number;
  /** What local tools send to the REST API (`Authorization: Bearer <token>`; rest_token.ts). */
  readonly restToken: string;
  readonly metrics: Registry;
  readonly dispatcher: Dispatcher;
  readonly orchestrator: Orchestrator;
  /** This manager's live TLS identity (undefined on an insecure test manager). */
  readonly tls: TlsIdentity | undefined;
  readonly advertiseAddr: string;
  /** The feature level this manager's binary runs as. */
  readonly featureLevel: number;
  readonly #close: () => Promise<void>;
  readonly #removed: Promise<string>;
  #stopping: Promise<void> | undefined;

  private constructor(p: Parts) {
    this.identity = p.identity;
    this.ctx = p.ctx;
    this.raft = p.raft;
    this.store = p.store;
    this.apiPort = p.apiPort;
    this.raftPort = p.raftPort;
    this.httpPort = p.httpPort;
    this.restToken = p.restToken;
    this.metrics = p.metrics;
    this.dispatcher = p.dispatcher;
    this.orchestrator = p.orchestrator;
    this.tls = p.tls;
    this.advertiseAddr = p.advertiseAddr;
    this.featureLevel = p.featureLevel;
    this.#close = p.close;
    this.#removed = p.removed;
    this.log = logger("manager", { node: p.identity.nodeId });
  }

  /**
   * Resolves with the error that stopped this manager's Raft node: its storage failed, or it
   * cannot apply the cluster's log (a cluster above its binary's feature level:
   * FeatureLevelTooHighError). The manager then serves nothing useful: the daemon stops it and
   * exits with the error. Never settles while Raft runs.
   */
  get failed(): Promise<Error> {
    return this.raft.failed.then(asError);
  }

  /**
   * The error that stopped this manager's Raft node, if it stopped ({@link Manager.failed}): what
   * to report when a start step failed because of it (e.g. no keys: the log was not applied).
   */
  get failure(): Error | undefined {
    const err = this.raft.failure;
    return err === undefined ? undefined : asError(err);
  }

  /**
   * Resolves with the ID of a manager that refused this one's Raft connection because its
   * replicated state records this node as removed from the cluster (`node rm --force`, or
   * `cluster leave`, while this manager was down or cut off; it then restarted on its old data
   * directory, still believing itself a member). Definitive: node IDs are never reused, and a
   * manager merely partitioned or catching up is never recorded as removed. Never settles
   * otherwise. This manager's own log cannot say so: the leader stops replicating to a manager
   * once its removal from the configuration applies.
   */
  get removed(): Promise<string> {
    return this.#removed;
  }

  /** The gRPC API address clients should use. */
  get apiAddress(): string {
    return `${this.advertiseAddr}:${this.apiPort}`;
  }
  /** The Raft address peers use. */
  get raftAddress(): string {
    return `${this.advertiseAddr}:${this.raftPort}`;
  }

  /** Starts a manager from `opts.dataDir`: init, join, or resume. */
  static async start(opts: ManagerOptions): Promise<Manager> {
    const log = logger("manager");
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
      const featureLevel = opts.featureLevel ?? BINARY_FEATURE_LEVEL;
      // The API address is known once its server listens (a port of 0 picks one).
      const api: { address?: string } = {};
      const localKek = new LocalKek(opts.dataDir, () => api.address);
      const prepared = await prepareIdentity(opts, localKek, featureLevel);
      const { identity, fresh } = prepared;
      const tls = opts.insecure ? undefined : new TlsIdentity(await readTlsFiles(opts.dataDir));
      const kv = await Deno.openKv(join(opts.dataDir, "raft.kv"));
      closers.push(() => kv.close());
      const storage = await KvStorage.open(kv);
      const store = new Store({ featureLevel });
      const ref: { node?: RaftNode } = {};
      const removal = Promise.withResolvers<string>();

      // Raft: framed messages over mutual TLS (plain TCP only when insecure); managers only.
      const raftServer = await startTlsRaftServer({
        address: opts.raftAddr,
        identity: tls,
        clusterId: identity.clusterId,
        selfId: identity.nodeId,
        onMessages: (from, msgs) => ref.node?.receive(msgs, from),
        // A removed manager restarted on its data directory is told so (Manager.removed).
        isRemoved: (id) => store.state.removedNodeIds.has(id),
        allowedRole: "manager",
      });
      closers.push(() => raftServer.close());
      const transport = new TlsRaftTransport({
        clusterId: identity.clusterId,
        selfId: identity.nodeId,
        identity: tls,
        onUnreachable: (peer) => ref.node?.reportUnreachable(peer),
        onRemoved: (peer) => removal.resolve(peer),
      });
      closers.push(() => transport.close());
      const raftAddress = `${opts.advertiseAddr}:${raftServer.port}`;
      if (fresh && opts.init) {
        await RaftNode.bootstrap(storage, {
          id: identity.nodeId,
          address: raftAddress,
          stateMachine: store,
        });
      }
      await writeIdentity(opts.dataDir, identity);
      const raftLog = logger("raft", { node: identity.nodeId });
      const peers = Object.fromEntries(
        (opts.join?.response.managers ?? []).map((m) => [m.nodeId, m.raftAddress]),
      );
      const raft = new RaftNode({
        id: identity.nodeId,
        address: raftAddress,
        storage,
        transport,
        stateMachine: store,
        peers,
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

      const keys = clusterKeysLoader(localKek, identity.clusterId, store, prepared.keys);
      const metrics = new Registry();
      const ctx: ApiContext = {
        store,
        raft,
        now: Date.now,
        newId: randomId,
        nodeId: identity.nodeId,
        version: VERSION,
        keys,
      };
      const keeper = keepKekFile({ store, keys, kek: localKek, log });
      closers.push(keeper.stop);
      ctx.localKek = {
        locked: () => localKek.locked(),
        unlock: async (unlockKey) => {
          await localKek.unlock(unlockKey);
          log.info("unlocked");
          await keeper.sync();
        },
        sync: keeper.sync,
      };
      const m = registerManagerMetrics(metrics, ctx);
      ctx.observeCommit = (ms) => m.commitLatency.observe(ms);
      const observe = (method: string, ms: number, code: string) =>
        m.apiLatency.observe(ms, { method, code });

      const dispatcher = new Dispatcher(ctx, {
        resolveSecrets: (names) => secretsForWorker(ctx, names),
        managers: () => managerPeers(ctx),
        ...opts.dispatcher,
      });
      closers.push(() => dispatcher.close());
      const orchestrator = new Orchestrator(ctx, {
        ...opts.orchestrator,
        lastSeen: (id) => dispatcher.lastSeen(id),
      });
      orchestrator.start();
      closers.push(() => orchestrator.stop());
      const stopPromoter = promoteCaughtUpLearners(
        raft,
        (err) => log.warn("cannot promote learner", { err }),
      );
      closers.push(stopPromoter);
      const stopRaiser = raiseFeatureLevelWhenReady(ctx, {
        binaryLevel: featureLevel,
        intervalMs: opts.featureLevelCheckMs,
        onRaised: (level) => log.info("raised the cluster's feature level", { level }),
        onError: (err) => log.warn("cannot raise the cluster's feature level yet", { err }),
      });
      closers.push(stopRaiser);

      // The API port admits callers without a certificate (joining nodes); every method but
      // Join checks the caller's certificate and role.
      const guard = tls
        ? refuseRemoved(tlsGuard, (id) => store.state.removedNodeIds.has(id))
        : openGuard;
      const apiServer: GrpcServer = await startGrpcServer({
        address: opts.apiAddr,
        credentials: tls ? serverCredentials(tls, { clientCert: "optional" }) : undefined,
        services: [
          ...apiServices(ctx, observe, guard),
          workerService(dispatcher, {
            observe,
            authorize: (call, method, nodeId) => guard(call as never, method, nodeId),
          }),
          ...(opts.extraServices?.(ctx) ?? []),
        ],
      });
      api.address = `${opts.advertiseAddr}:${apiServer.port}`;
      closers.push(() => apiServer.stop(500));

      const restObserve = (route: string, ms: number, status: number) =>
        m.apiLatency.observe(ms, { method: `REST ${route}`, code: String(status) });
      const app = restApp(ctx, { metrics, observe: restObserve, extraRoutes: opts.extraRoutes });
      const [httpHost, httpPortStr] = splitHostPort(opts.httpAddr, "httpAddr");
      const restToken = await loadOrCreateRestToken(opts.dataDir);
      const ac = new AbortController();
      const httpServer = Deno.serve(
        { hostname: httpHost, port: Number(httpPortStr), signal: ac.signal, onListen: () => {} },
        restHandler(app, publicRestApp(ctx, { metrics, observe: restObserve }), restToken),
      );
      closers.push(async () => {
        ac.abort();
        await httpServer.finished;
      });

      if (tls) {
        const stopRenewal = startRenewal({
          identity: tls,
          renew: async () => {
            const k = await keys();
            const own = await k.issue({
              nodeId: identity.nodeId,
              role: "manager",
              sans: [opts.advertiseAddr, hostName()],
              now: Date.now(),
            });
            return { caPem: k.ca.certPem, ...own };
          },
          persist: (mat) => writeTlsFiles(opts.dataDir, mat),
          onRenewed: (notAfter) =>
            log.info("renewed this manager's certificate", { notAfter: notAfter.toISOString() }),
          onError: (err) => log.warn("certificate renewal failed; retrying", { err }),
        });
        closers.push(stopRenewal);
      }

      const mgr = new Manager({
        identity,
        ctx,
        raft,
        store,
        apiPort: apiServer.port,
        raftPort: raftServer.port,
        httpPort: httpServer.addr.port,
        restToken,
        metrics,
        dispatcher,
        orchestrator,
        tls,
        advertiseAddr: opts.advertiseAddr,
        featureLevel,
        removed: removal.promise,
        close: closeAll,
      });
      if (fresh && opts.init) {
        await mgr.#initCluster(
          opts.init.clusterName ?? "warren",
          ClusterCidrsSchema.parse(opts.init.cidrs ?? {}),
          prepared.security!,
        );
      } else {
        void mgr.#refreshSelf();
      }
      mgr.log.info("manager started", {
        api: mgr.apiAddress,
        raft: mgr.raftAddress,
        http: `${httpHost}:${httpServer.addr.port}`,
        cluster: identity.clusterId,
        tls: tls !== undefined,
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

  /** A key pair and certificate for an admin client named `name` (the CLI). */
  async issueAdminCertificate(name: string): Promise<KeyAndCert & { caPem: string }> {
    const k = await this.ctx.keys();
    return {
      ...(await k.issue({ nodeId: name, role: "admin", sans: [], now: Date.now() })),
      caPem: k.ca.certPem,
    };
  }

  /** Records the cluster, its keys, join tokens and this manager as its first node. */
  async #initCluster(name: string, cidrs: ClusterCidrs, security: ClusterSecurity): Promise<void> {
    await this.waitForLeader();
    const at = this.ctx.now();
    await write(this.ctx, {
      kind: "cluster.init",
      at,
      // A new cluster runs at its first manager's level: every manager has that binary.
      cluster: {
        id: this.identity.clusterId,
        name,
        createdAt: at,
        cidrs,
        security,
        featureLevel: this.featureLevel,
      },
    });
    await write(this.ctx, { kind: "node.register", at, node: this.#selfNode(at) });
    await rotateJoinToken(this.ctx, "worker");
    await rotateJoinToken(this.ctx, "manager");
  }

  /** Re-registers this manager after a restart or join (addresses may have changed). */
  async #refreshSelf(): Promise<void> {
    try {
      for (let i = 0; i < 300 && !this.store.state.nodes.has(this.identity.nodeId); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await this.waitForLeader(30_000);
      const prev = this.store.state.nodes.get(this.identity.nodeId);
      const at = this.ctx.now();
      await write(this.ctx, {
        kind: "node.register",
        at,
        node: {
          ...this.#selfNode(at),
          labels: prev?.labels ?? {},
          // The worker session (if any) owns the readiness; keep what it recorded.
          status: prev?.status ?? this.#selfNode(at).status,
        },
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
      // Ready only once a worker session opens on this node (a --manager-only node runs no tasks).
      status: { state: "unknown", message: "manager; no worker session", lastHeartbeatAt: at },
      version: VERSION,
      // Reported at every start: the leader raises the cluster's level once all managers have.
      featureLevel: this.featureLevel,
      createdAt: at,
      updatedAt: at,
    };
  }

  /** Stops serving and closes the data directory. Idempotent. */
  stop(): Promise<void> {
    return this.#stopping ??= this.#close();
  }
}

/** Works out this manager's identity, writing keys and certificates for init and join. */
async function prepareIdentity(
  opts: ManagerOptions,
  localKek: LocalKek,
  featureLevel: number,
): Promise<{ identity: Identity; fresh: boolean; keys?: ClusterKeys; security?: ClusterSecurity }> {
  const existing = await readIdentity(opts.dataDir);
  if (existing) return { identity: existing, fresh: false };
  if (opts.init) {
    const identity: Identity = { nodeId: randomId(), clusterId: randomId(), role: "manager" };
    const now = Date.now();
    const { keys, security } = await ClusterKeys.create(identity.clusterId, now);
    const own = await keys.issue({
      nodeId: identity.nodeId,
      role: "manager",
      sans: [opts.advertiseAddr, hostName()],
      now,
    });
    await writeTlsFiles(opts.dataDir, { caPem: keys.ca.certPem, ...own });
    await localKek.write(keys.kekRaw);
    return { identity, fresh: true, keys, security };
  }
  if (opts.join) {
    const r = opts.join.response;
    if (r.role !== "manager") {
      throw new ValidationError("token", "is a worker token: a manager needs a manager token");
    }
    if (!r.clusterKey) throw new FailedPreconditionError("the join answer carries no cluster key");
    // Before anything is written: this binary must not apply that cluster's log.
    if (r.cluster.featureLevel > featureLevel) {
      throw new FeatureLevelTooHighError(
        featureLevel,
        r.cluster.featureLevel,
        "the cluster it joins is",
      );
    }
    await writeTlsFiles(opts.dataDir, {
      caPem: r.caCertificatePem,
      certPem: r.certificatePem,
      keyPem: opts.join.keyPem,
    });
    // Locked from the first write when the cluster runs with autolock (the keeper would lock it
    // only once this manager caught up; until then the key would sit on disk in plain).
    await localKek.write(new Uint8Array(decodeBase64(r.clusterKey)), r.unlockKey);
    return {
      identity: { nodeId: r.nodeId, clusterId: r.cluster.id, role: "manager" },
      fresh: true,
    };
  }
  throw new FailedPreconditionError(
    `${opts.dataDir} holds no Warren node: run 'warren cluster init' or 'warren join' first`,
  );
}

/** Opens the cluster keys once the replicated state has them (cached; retried on failure). */
function clusterKeysLoader(
  localKek: LocalKek,
  clusterId: string,
  store: Store,
  known: ClusterKeys | undefined,
): () => Promise<ClusterKeys> {
  let loading: Promise<ClusterKeys> | undefined = known ? Promise.resolve(known) : undefined;
  return () => {
    loading ??= (async () => {
      const security = store.state.cluster?.security;
      if (!security) {
        throw new UnavailableError("this manager has not caught up with the cluster's keys yet");
      }
      return await ClusterKeys.open(clusterId, security, await localKek.get());
    })().catch((err) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`raft node failed: ${String(err)}`);
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

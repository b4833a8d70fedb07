/**
 * The dispatcher: the leader's side of worker sessions. Workers register, heartbeat, receive
 * their assignments as a stream (a complete view first, then deltas at most every `batchMs`),
 * and report task statuses, which are coalesced across workers into one Raft command per batch.
 *
 * Heartbeats stay in the leader's memory (replicating each would flood the log); node health
 * turns them into replicated `node.status` changes. Followers refuse with NotLeaderError so
 * workers move to the leader.
 * @module
 */
import type {
  AssignmentsMessage,
  HeartbeatResponse,
  ManagerPeer,
  Node,
  RegisterRequest,
  RegisterResponse,
  SecretData,
  TaskStatusUpdate,
} from "../../proto/schema/mod.ts";
import {
  NotLeaderError,
  NotMemberError,
  PermissionDeniedError,
  UnauthenticatedError,
} from "../../proto/errors.ts";
import type { TaskChange } from "../state/commands.ts";
import type { Change } from "../state/fsm.ts";
import { type ApiContext, randomId, readBarrier, write } from "../api/context.ts";
import {
  diffKeyed,
  type NodeView,
  nodeView,
  overlayPeers,
  serviceEndpoints,
} from "./assignments.ts";
import { logger } from "../../proto/log.ts";

/** Options of a {@link Dispatcher}. */
export interface DispatcherOptions {
  /** How often workers heartbeat. Default 1,000 ms. */
  heartbeatPeriodMs?: number;
  /**
   * Window in which assignment changes and status reports are batched while busy (after a
   * quiet spell the first change goes out at once). Default 20 ms.
   */
  batchMs?: number;
  /** Plaintext of the named secrets, for nodes whose tasks reference them. */
  resolveSecrets?: (names: string[]) => Promise<SecretData[]>;
  /** The managers workers may fail over to. */
  managers?: () => ManagerPeer[];
}

interface Stream {
  nodeId: string;
  sessionId: string;
  sent: {
    view: NodeView;
    peers: Map<string, { sig: string }>;
    endpoints: Map<string, { sig: string }>;
    /** Secret name → the version sent: a new version is sent again (a rotation). */
    secrets: Map<string, number>;
  } | undefined;
  push: (m: AssignmentsMessage) => void;
  end: (err?: Error) => void;
  /** The send in progress: sends to one stream run one at a time (see Dispatcher.#send). */
  sending?: Promise<unknown>;
}

/** The views every node shares, as of one store index. */
interface SharedViews {
  index: number;
  peers: ReturnType<typeof overlayPeers>;
  endpoints: ReturnType<typeof serviceEndpoints>;
}

/** Worker sessions on the leader. */
export class Dispatcher {
  readonly #ctx: ApiContext;
  readonly #o: Required<DispatcherOptions>;
  readonly #sessions = new Map<string, { sessionId: string; lastSeen: number }>();
  readonly #streams = new Set<Stream>();
  readonly #dirtyNodes = new Set<string>();
  #globalDirty = false;
  #pendingReports: {
    change: TaskChange;
    done: { resolve: () => void; reject: (e: unknown) => void };
  }[] = [];
  #reportTimer: ReturnType<typeof setTimeout> | undefined;
  #reportsInFlight = 0;
  #shared: SharedViews | undefined;
  /** The next stream flush, while one is due. */
  #streamTimer: ReturnType<typeof setTimeout> | undefined;
  #lastStreamFlushAt = -Infinity;
  readonly #unsubscribe: () => void;
  readonly #log = logger("dispatcher");

  constructor(ctx: ApiContext, opts: DispatcherOptions = {}) {
    this.#ctx = ctx;
    this.#o = {
      heartbeatPeriodMs: opts.heartbeatPeriodMs ?? 1000,
      batchMs: opts.batchMs ?? 20,
      resolveSecrets: opts.resolveSecrets ?? (() => Promise.resolve([])),
      managers: opts.managers ?? (() => []),
    };
    this.#unsubscribe = ctx.store.onApplied((_i, changes) => this.#markDirty(changes));
    ctx.raft.onLeaderChange((l) => {
      if (!l.isLeader) this.#dropAll("this manager is no longer the leader");
    });
  }

  /** When `nodeId` last heartbeated on this leader (ms), if it has a session. */
  lastSeen(nodeId: string): number | undefined {
    return this.#sessions.get(nodeId)?.lastSeen;
  }

  /** Node IDs with a live session. */
  get sessionNodeIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Opens (or replaces) a node's session and records what it offers. */
  async register(req: RegisterRequest): Promise<RegisterResponse> {
    this.#assertLeader();
    // A leader elected a moment ago may not have applied every committed entry yet: confirm
    // with a read barrier before telling a node, definitively, that it is not a member.
    const prev = this.#ctx.store.state.nodes.get(req.nodeId) ??
      (await readBarrier(this.#ctx, false)).nodes.get(req.nodeId);
    if (!prev) {
      throw new NotMemberError(req.nodeId);
    }
    const at = this.#ctx.now();
    // The feature level is the manager's to report (at its start): a copy of the one read here
    // could put back an older one that the manager wrote meanwhile. Without it, the FSM keeps it.
    const { featureLevel: _, ...recorded } = prev;
    await write(this.#ctx, {
      kind: "node.register",
      at,
      node: {
        ...recorded,
        hostname: req.hostname,
        addresses: registeredAddresses(prev, req),
        resources: req.resources,
        platform: req.platform,
        version: req.version,
        ...(req.wireguard ? { wireguard: req.wireguard } : {}),
        status: { state: "ready", message: "", lastHeartbeatAt: at },
        updatedAt: at,
      },
    });
    const sessionId = randomId();
    this.#sessions.set(req.nodeId, { sessionId, lastSeen: at });
    for (const st of this.#streams) {
      if (st.nodeId === req.nodeId) {
        st.end(new UnauthenticatedError("session replaced by a newer registration"));
      }
    }
    return {
      sessionId,
      heartbeatPeriodMs: this.#o.heartbeatPeriodMs,
      managers: this.#o.managers(),
    };
  }

  /** Records a heartbeat. */
  heartbeat(nodeId: string, sessionId: string): HeartbeatResponse {
    const session = this.#session(nodeId, sessionId);
    // Removed while connected (`node rm --force`): the failed heartbeat makes the worker register
    // again, and Register tells it that it is no longer a member.
    if (!this.#ctx.store.state.nodes.has(nodeId)) throw new NotMemberError(nodeId);
    session.lastSeen = this.#ctx.now();
    return { heartbeatPeriodMs: this.#o.heartbeatPeriodMs, managers: this.#o.managers() };
  }

  /** Streams the node's desired work until `signal` aborts or the session ends. */
  async *assignments(
    nodeId: string,
    sessionId: string,
    signal: AbortSignal,
  ): AsyncGenerator<AssignmentsMessage> {
    this.#session(nodeId, sessionId);
    const queue: AssignmentsMessage[] = [];
    let wake: (() => void) | undefined;
    let ended: Error | null | undefined;
    const st: Stream = {
      nodeId,
      sessionId,
      sent: undefined,
      push: (m) => {
        queue.push(m);
        wake?.();
      },
      end: (err) => {
        ended = err ?? null;
        wake?.();
      },
    };
    const onAbort = () => st.end();
    signal.addEventListener("abort", onAbort);
    this.#streams.add(st);
    try {
      await this.#send(st, true);
      while (true) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (ended !== undefined) {
          if (ended) throw ended;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#streams.delete(st);
    }
  }

  /**
   * Records observed task statuses; resolves once they are committed. Only tasks assigned to
   * the reporting node may be reported on.
   */
  async reportStatus(
    nodeId: string,
    sessionId: string,
    updates: TaskStatusUpdate[],
  ): Promise<void> {
    this.#session(nodeId, sessionId).lastSeen = this.#ctx.now();
    const s = this.#ctx.store.state;
    for (const u of updates) {
      const t = s.tasks.get(u.taskId);
      if (t && t.nodeId !== nodeId) {
        throw new PermissionDeniedError(
          `node ${nodeId} may not report on task ${u.taskId}: it is assigned to node ${
            t.nodeId ?? "none"
          }`,
        );
      }
    }
    if (updates.length === 0) return;
    const done = updates.map((u) =>
      new Promise<void>((resolve, reject) =>
        this.#pendingReports.push({
          change: { id: u.taskId, status: u.status },
          done: { resolve, reject },
        })
      )
    );
    // Idle: commit at once (a fixed window only delays every task start). Busy: batch for
    // `batchMs` as before, so reports arriving meanwhile share one Raft entry.
    this.#reportTimer ??= setTimeout(() => {
      this.#reportTimer = undefined;
      this.#reportsInFlight++;
      void this.#flushReports().finally(() => this.#reportsInFlight--);
    }, this.#reportsInFlight === 0 ? 0 : this.#o.batchMs);
    await Promise.all(done);
  }

  /** Ends every stream and stops the timers. */
  close(): void {
    clearTimeout(this.#streamTimer);
    clearTimeout(this.#reportTimer);
    this.#unsubscribe();
    this.#dropAll("dispatcher stopped");
  }

  async #flushReports(): Promise<void> {
    const batch = this.#pendingReports;
    this.#pendingReports = [];
    if (batch.length === 0) return;
    try {
      await write(this.#ctx, {
        kind: "task.update",
        at: this.#ctx.now(),
        changes: batch.map((b) => b.change),
      });
      for (const b of batch) b.done.resolve();
    } catch (err) {
      for (const b of batch) b.done.reject(err);
    }
  }

  #assertLeader(): void {
    const l = this.#ctx.raft.leader;
    if (!l.isLeader) throw new NotLeaderError(l.leaderId || undefined);
  }

  #session(nodeId: string, sessionId: string): { sessionId: string; lastSeen: number } {
    this.#assertLeader();
    const s = this.#sessions.get(nodeId);
    if (!s || s.sessionId !== sessionId) {
      throw new UnauthenticatedError(
        `no session ${sessionId} for node ${nodeId} on this manager: register again`,
      );
    }
    return s;
  }

  #markDirty(changes: Change[]): void {
    this.#scheduleStreamFlush();
    for (const c of changes) {
      if (c.kind === "task") {
        const t = c.task;
        if (t.nodeId) this.#dirtyNodes.add(t.nodeId);
        // Only tasks with an IP are ever in service endpoints (serviceEndpoints); a task keeps
        // its IP in its status as it stops, so its leaving is seen too. Tasks without one
        // (host networking) change no other node's view.
        if (t.status.ip) this.#globalDirty = true;
      } else if (c.kind === "node" || c.kind === "service") {
        // A removed node's session goes with it (kept, it would count as seen for good).
        if (c.kind === "node" && c.action === "delete") this.#sessions.delete(c.node.id);
        // A node marked down (silent past the down period) loses its session, as in Swarm: a
        // worker that was only frozen (SIGSTOP, a stalled VM, a long GC) and heartbeats again
        // is told to register, which makes it ready again. Kept, its heartbeats were accepted
        // and the node stayed down for good.
        if (c.kind === "node" && c.action === "update" && c.node.status.state === "down") {
          this.#endSession(c.node.id, "the node was marked down");
        }
        this.#globalDirty = true;
      } else if (c.kind === "volume") {
        this.#globalDirty = true;
      }
    }
  }

  /**
   * Flushes the streams: at once after a quiet spell (a new task's assignment does not wait for
   * a tick), else when `batchMs` have passed since the last flush that sent a message, so
   * changes arriving meanwhile go out together. (Status-only changes send nothing and so do
   * not hold back the next assignment.)
   */
  #scheduleStreamFlush(): void {
    if (this.#streamTimer !== undefined) return;
    const waitMs = Math.max(0, this.#lastStreamFlushAt + this.#o.batchMs - performance.now());
    this.#streamTimer = setTimeout(() => {
      this.#streamTimer = undefined;
      void this.#flushStreams();
    }, waitMs);
  }

  async #flushStreams(): Promise<void> {
    if (this.#streams.size === 0 || (!this.#globalDirty && this.#dirtyNodes.size === 0)) return;
    const global = this.#globalDirty;
    const dirty = new Set(this.#dirtyNodes);
    this.#globalDirty = false;
    this.#dirtyNodes.clear();
    for (const st of this.#streams) {
      if (global || dirty.has(st.nodeId)) {
        try {
          if (await this.#send(st, false)) this.#lastStreamFlushAt = performance.now();
        } catch (err) {
          this.#log.warn("cannot compute assignments", { node: st.nodeId, err });
          st.end(err as Error);
        }
      }
    }
  }

  /**
   * Overlay peers and service endpoints are the same for every node: computed once per store
   * index and shared by every stream (per stream they cost O(nodes × tasks) per flush).
   */
  #cluster(): SharedViews {
    const index = this.#ctx.store.index;
    if (this.#shared?.index !== index) {
      const s = this.#ctx.store.state;
      this.#shared = { index, peers: overlayPeers(s), endpoints: serviceEndpoints(s) };
    }
    return this.#shared;
  }

  /**
   * Sends what changed for the stream's node (everything when `complete`), after any send to
   * the same stream in progress: each diff starts from what the previous one sent, and a send
   * awaiting secrets cannot be overtaken by a later one whose older view would land last.
   * @returns whether a message was sent
   */
  #send(st: Stream, complete: boolean): Promise<boolean> {
    const run = (st.sending ?? Promise.resolve()).then(() => this.#sendNow(st, complete));
    st.sending = run.catch(() => {});
    return run;
  }

  async #sendNow(st: Stream, complete: boolean): Promise<boolean> {
    const s = this.#ctx.store.state;
    const view = nodeView(s, st.nodeId);
    const { peers, endpoints } = this.#cluster();
    const prev = complete ? undefined : st.sent;
    const empty = new Map<string, { sig: string }>();
    const a = diffKeyed(prev?.view.assignments ?? empty, view.assignments);
    const v = diffKeyed(prev?.view.volumes ?? empty, view.volumes);
    const p = diffKeyed(prev?.peers ?? empty, peers, st.nodeId);
    const e = diffKeyed(prev?.endpoints ?? empty, endpoints);
    const versions = new Map([...view.secretNames].map((n) => {
      const id = s.secretIdByName.get(n);
      return [n, (id === undefined ? undefined : s.secrets.get(id)?.version) ?? 0];
    }));
    const newSecrets = [...versions].filter(([n, v]) => prev?.secrets.get(n) !== v)
      .map(([n]) => n);
    const secrets = newSecrets.length ? await this.#o.resolveSecrets(newSecrets) : [];
    const removedSecretIds = prev
      ? [...prev.secrets.keys()].filter((n) => !view.secretNames.has(n)).map((n) =>
        s.secretIdByName.get(n) ?? n
      )
      : [];
    st.sent = { view, peers, endpoints, secrets: versions };
    const msg: AssignmentsMessage = {
      complete,
      index: this.#ctx.store.index,
      assignments: a.upserts,
      removedTaskIds: a.removed,
      secrets,
      removedSecretIds,
      volumes: v.upserts,
      removedVolumeIds: v.removed,
      volumesAuthoritative: true,
      peers: p.upserts,
      removedPeerIds: p.removed,
      endpoints: e.upserts,
      removedEndpointIds: e.removed,
    };
    const empties = !complete && a.upserts.length + a.removed.length + v.upserts.length +
            v.removed.length + p.upserts.length + p.removed.length + e.upserts.length +
            e.removed.length + secrets.length + removedSecretIds.length === 0;
    if (!empties) st.push(msg);
    return !empties;
  }

  /** Ends `nodeId`'s session and streams: its worker registers again. */
  #endSession(nodeId: string, reason: string): void {
    if (!this.#sessions.delete(nodeId)) return;
    for (const st of this.#streams) {
      if (st.nodeId !== nodeId) continue;
      st.end(new UnauthenticatedError(`${reason}: register again`));
    }
    this.#log.info("ended a worker session", { node: nodeId, reason });
  }

  #dropAll(reason: string): void {
    for (const st of this.#streams) {
      st.end(new NotLeaderError(this.#ctx.raft.leader.leaderId || undefined));
    }
    this.#sessions.clear();
    if (this.#streams.size > 0) this.#log.info("ended worker streams", { reason });
  }
}

/**
 * A node's addresses after its worker registers. A manager's API and Raft addresses belong to
 * its manager, not to the worker running beside it (which knows only the advertise address):
 * replacing them dropped the manager from the peers a joining manager is given, so no second
 * manager could join a cluster whose first manager also runs tasks.
 */
export function registeredAddresses(
  prev: Pick<Node, "role" | "addresses">,
  req: Pick<RegisterRequest, "addresses">,
): Node["addresses"] {
  if (prev.role !== "manager") return req.addresses;
  const { api, raft } = prev.addresses;
  return {
    ...req.addresses,
    ...(api !== undefined ? { api } : {}),
    ...(raft !== undefined ? { raft } : {}),
  };
}

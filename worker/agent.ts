/**
 * The worker's session with the managers (WorkerService): register, heartbeat at the period the
 * manager gives, receive assignments as a stream (a complete view first, then deltas) and report
 * task statuses in batches.
 *
 * ```
 *        ┌──────────── reconnect (backoff 100 ms → 2 s, next manager) ◀──────────┐
 *        ▼                                                                      │
 *  Register ──▶ Assignments stream ──▶ first (complete) message ──▶ connected   │
 *  (failover     │  every message ──▶ Worker.applyAssignments                   │
 *   across       │  Heartbeat every heartbeatPeriodMs ─── failure ─────────────▶┤
 *   managers)    └─ stream ends (UNAVAILABLE, NotLeader, session replaced) ─────┘
 *                                   while disconnected: Worker runs autonomously
 * ```
 *
 * Register answered `not_found` (NotMemberError) is definitive, not an outage: the node left or
 * was removed, so the loop ends and `onNotMember` is told (the node then stops its tasks, which
 * the cluster has rescheduled elsewhere, as a node removed from a Swarm does).
 *
 * Manager addresses are the configured ones plus those the managers announce in Register and
 * Heartbeat responses. After every reconnect the worker's current statuses are reported in full,
 * so the manager learns what happened while it was unreachable.
 * @module
 */
import type { ChannelCredentials, ChannelOptions, ClientReadableStream } from "@grpc/grpc-js";
import { codecs } from "../proto/convert.ts";
import * as wire from "../proto/gen/warren.ts";
import type { ManagerPeer, RegisterRequest, TaskStatusUpdate } from "../proto/schema/mod.ts";
import { toWarrenError, UnavailableError, type WarrenError } from "../proto/errors.ts";
import { type Logger, logger } from "../proto/log.ts";
import { ManagerPool } from "../net/client/manager_pool.ts";
import { fromGrpcError } from "../net/grpc/status.ts";
import { sleep, systemClock } from "./clock.ts";
import { StatusReporter } from "./status_reporter.ts";
import type { Worker } from "./worker.ts";

/** Options of {@link Agent.start}. */
export interface AgentOptions {
  worker: Worker;
  /** Manager API addresses (`host:port`); at least one. */
  managers: readonly string[];
  /** What the node offers (the node ID comes from the worker). */
  register: Omit<RegisterRequest, "nodeId">;
  /** Mutual TLS credentials from the security layer; insecure by default. */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /**
   * Status coalescing window. Default 0: a change goes out at once unless a report is in
   * flight, and the changes made meanwhile go out together when it returns. The manager
   * acknowledges after its own batch is committed, which paces the reports (a fixed window
   * here only added its length to every task start).
   */
  reportBatchMs?: number;
  /** Reconnect backoff bounds. Defaults 100 ms and 2 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Deadline of Register, Heartbeat and ReportStatus calls. Default 5 s. */
  callTimeoutMs?: number;
  /**
   * Called once when the managers answer that this node is not a member of the cluster (it left
   * or was removed); the agent stops trying to register.
   */
  onNotMember?: (err: WarrenError) => void;
  /**
   * Called with every manager address known (the configured ones plus those the managers
   * announced) whenever that list changes, so the daemon can keep it for its next start.
   */
  onManagers?: (addresses: readonly string[]) => void;
}

interface Session {
  id: string;
  pool: ManagerPool;
  /** Index of the manager (in `pool`) that holds the session. */
  index: number;
}

/** The worker's manager session. See the module doc. */
export class Agent {
  readonly #o: AgentOptions;
  readonly #worker: Worker;
  readonly #reporter: StatusReporter;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  readonly #unsubscribe: () => void;
  #addresses: string[];
  #pool: ManagerPool | undefined;
  #session: Session | undefined;
  #stream: ClientReadableStream<wire.AssignmentsMessage> | undefined;
  #connected = false;
  #connectedWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;
  #closed = false;
  #notMember: WarrenError | undefined;
  /** Sessions opened so far (tests and metrics). */
  sessions = 0;

  private constructor(o: AgentOptions) {
    this.#o = o;
    this.#worker = o.worker;
    this.#addresses = [...new Set(o.managers)];
    this.#log = logger("agent", { node: o.worker.nodeId });
    this.#reporter = new StatusReporter({
      send: (u) => this.#send(u),
      batchMs: o.reportBatchMs ?? 0,
      log: this.#log,
    });
    this.#unsubscribe = o.worker.onStatus((u) => this.#reporter.report(u));
  }

  /** Starts the session loop in the background. */
  static start(o: AgentOptions): Agent {
    if (o.managers.length === 0) {
      throw new UnavailableError("a worker needs at least one manager address");
    }
    const a = new Agent(o);
    // Statuses recorded before a restart are re-reported on the first session.
    for (const u of o.worker.statuses()) a.#reporter.report(u);
    a.#loop = a.#run();
    return a;
  }

  /** Whether a session is open and its complete assignments message was applied. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The manager addresses known now (configured and announced). */
  get managerAddresses(): readonly string[] {
    return this.#addresses;
  }

  /** Why the managers refused this node as not a member, once they did. */
  get notMember(): WarrenError | undefined {
    return this.#notMember;
  }

  /** Status updates not yet acknowledged by a manager. */
  get pendingReports(): number {
    return this.#reporter.pending;
  }

  /** Resolves once connected; rejects after `timeoutMs`. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new UnavailableError(`no manager session within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#connectedWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Resolves once every queued status was acknowledged (bounded by `timeoutMs`). */
  async flushReports(timeoutMs = 5_000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([this.#reporter.idle().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops receiving work: the stream ends and no reconnect follows, but the session stays usable
   * for reports (graceful shutdown reports, then {@link close}s).
   */
  async stopReceiving(): Promise<void> {
    this.#stop.abort();
    this.#stream?.cancel();
    await this.#loop;
  }

  /** Ends the session for good; unsent reports are left for the next start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stopReceiving();
    this.#closed = true;
    this.#unsubscribe();
    this.#reporter.close();
    this.#pool?.close();
    this.#pool = undefined;
    this.#session = undefined;
  }

  async #run(): Promise<void> {
    const min = this.#o.reconnectMinMs ?? 100;
    const max = this.#o.reconnectMaxMs ?? 2_000;
    let backoff = min;
    while (!this.#stop.signal.aborted) {
      try {
        const session = await this.#register().catch((err) => {
          const e = toWarrenError(err);
          if (e.code === "not_found") this.#notMember = e;
          throw e;
        });
        backoff = min;
        // A stop during the Register call found no stream to cancel: open none.
        if (this.#stop.signal.aborted) break;
        await this.#runSession(session);
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (this.#notMember) {
          this.#log.error("the managers say this node is not a member of the cluster", {
            err: this.#notMember.message,
          });
          break;
        }
        this.#log.warn("no manager session", {
          err: toWarrenError(err).message,
          backoffMs: backoff,
        });
      }
      this.#setConnected(false);
      if (this.#stop.signal.aborted) break;
      await sleep(systemClock, backoff, this.#stop.signal);
      backoff = Math.min(backoff * 2, max);
    }
    if (this.#notMember) this.#o.onNotMember?.(this.#notMember);
  }

  /** A pool over the current addresses (rebuilt when the managers announced new ones). */
  #currentPool(): ManagerPool {
    if (this.#pool && sameList(this.#pool.addresses, this.#addresses)) return this.#pool;
    this.#pool?.close();
    this.#pool = new ManagerPool({
      addresses: this.#addresses,
      ...(this.#o.credentials ? { credentials: this.#o.credentials } : {}),
      ...(this.#o.channelOptions ? { channelOptions: this.#o.channelOptions } : {}),
      callTimeoutMs: this.#o.callTimeoutMs ?? 5_000,
    });
    return this.#pool;
  }

  async #register(): Promise<Session> {
    const pool = this.#currentPool();
    const res = codecs.RegisterResponse.fromWire(
      await pool.unary(
        wire.WorkerServiceService.register,
        codecs.RegisterRequest.toWire({ ...this.#o.register, nodeId: this.#worker.nodeId }),
        // A manager that never answers (a partition, a powered-off host) must not hold the
        // worker: the next Register dials afresh and tries the next manager.
        { abandonSilent: true },
      ),
    );
    this.#learn(res.managers);
    this.sessions++;
    const session = { id: res.sessionId, pool, index: pool.firstIndex() };
    this.#session = session;
    this.#log.info("registered", {
      manager: pool.addresses[session.index],
      heartbeatPeriodMs: res.heartbeatPeriodMs,
    });
    this.#heartbeatPeriodMs = res.heartbeatPeriodMs;
    return session;
  }

  #heartbeatPeriodMs = 1_000;

  async #runSession(s: Session): Promise<void> {
    const stream = s.pool.serverStream(
      s.index,
      wire.WorkerServiceService.assignments,
      codecs.AssignmentsRequest.toWire({ nodeId: this.#worker.nodeId, sessionId: s.id }),
    );
    this.#stream = stream;
    if (this.#stop.signal.aborted) stream.cancel();
    const ended = new AbortController();
    const heartbeats = this.#heartbeat(s, stream, ended.signal);
    try {
      for await (const m of stream as AsyncIterable<wire.AssignmentsMessage>) {
        const msg = codecs.AssignmentsMessage.fromWire(m, "assignments");
        this.#worker.applyAssignments(msg);
        if (msg.complete && !this.#connected) {
          this.#setConnected(true);
          for (const u of this.#worker.statuses()) this.#reporter.report(u);
        }
      }
      throw new UnavailableError("the manager ended the assignments stream");
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      throw fromStreamError(err);
    } finally {
      ended.abort();
      stream.cancel();
      await heartbeats;
      if (this.#stream === stream) this.#stream = undefined;
    }
  }

  /** Heartbeats until `signal` aborts; a failed heartbeat ends the session's stream. */
  async #heartbeat(
    s: Session,
    stream: ClientReadableStream<unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    while (await sleep(systemClock, this.#heartbeatPeriodMs, signal)) {
      try {
        const res = codecs.HeartbeatResponse.fromWire(
          await s.pool.unaryOn(
            s.index,
            wire.WorkerServiceService.heartbeat,
            codecs.HeartbeatRequest.toWire({ nodeId: this.#worker.nodeId, sessionId: s.id }),
            this.#o.callTimeoutMs ?? 5_000,
          ),
        );
        this.#heartbeatPeriodMs = res.heartbeatPeriodMs;
        this.#learn(res.managers);
      } catch (err) {
        if (signal.aborted) return;
        const e = toWarrenError(err);
        this.#log.warn("heartbeat failed; reconnecting", { err: e.message });
        // No answer at all: the session's connection may be a black hole; Register anew on a
        // fresh one (and on the next manager) rather than on it.
        s.pool.abandonIfSilent(s.index, e);
        stream.cancel();
        return;
      }
    }
  }

  async #send(updates: TaskStatusUpdate[]): Promise<void> {
    const s = this.#session;
    if (!s || this.#closed) throw new UnavailableError("no manager session");
    await s.pool.unaryOn(
      s.index,
      wire.WorkerServiceService.reportStatus,
      codecs.ReportStatusRequest.toWire({ nodeId: this.#worker.nodeId, sessionId: s.id, updates }),
      this.#o.callTimeoutMs ?? 5_000,
    );
  }

  #setConnected(v: boolean): void {
    if (v === this.#connected) return;
    this.#connected = v;
    this.#worker.setConnected(v, this.#stop.signal.aborted ? "stopping" : undefined);
    if (v) {
      this.#reporter.resume();
      const w = this.#connectedWaiters;
      this.#connectedWaiters = [];
      for (const r of w) r();
    } else if (!this.#stop.signal.aborted) {
      // After stopReceiving the session still carries the shutdown reports.
      this.#reporter.pause();
    }
  }

  #learn(peers: ManagerPeer[]): void {
    const next = [...new Set([...this.#o.managers, ...peers.map((p) => p.apiAddress)])];
    if (!sameList(next, this.#addresses)) {
      this.#log.info("manager addresses changed", { managers: next });
      this.#addresses = next;
      this.#o.onManagers?.(next);
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A stream error as a typed Warren error. */
function fromStreamError(err: unknown): Error {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "number") {
    return fromGrpcError(err as Parameters<typeof fromGrpcError>[0]);
  }
  return toWarrenError(err);
}

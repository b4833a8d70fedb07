/**
 * The worker: the tasks of one node, their runners, local state and hooks. It does not talk to
 * managers itself (agent.ts does): it takes assignment messages, tells whether a manager is
 * reachable, and publishes every status change to its listeners.
 *
 * On {@link Worker.open} it loads its records from Deno KV, removes the Warren containers (and
 * the log files) of this node it has no record of (one that will not go is retried in the
 * background, so it cannot keep the node from starting), and resumes every task from its recorded
 * state: a running container is re-adopted (same ID, no restart). A task that had not started
 * yet waits for the first complete assignments message, which brings the secrets it may need
 * (they are kept in memory only).
 * @module
 */
import { join } from "node:path";
import {
  type Assignment,
  type AssignmentsMessage,
  isTerminal,
  type TaskHealth,
  type TaskState,
  taskStateOrder,
  type TaskStatus,
  type TaskStatusUpdate,
} from "../proto/schema/mod.ts";
import { type Logger, logger } from "../proto/log.ts";
import {
  Labels,
  type LogEntry,
  type LogsOptions,
  type NetworkMode,
  type RegistryAuth,
  type Runtime,
} from "../runtime/runtime.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { LocalState } from "./local_state.ts";
import type { Probe, ProbeTarget } from "./probes.ts";
import { planReconcile } from "./reconcile.ts";
import { SecretCache } from "./secrets.ts";
import { parseRegistryAuth } from "./registry_auth.ts";
import { PullProgress } from "./pull_progress.ts";
import { type TaskHooks, type TaskRecord, TaskRunner } from "./task_runner.ts";
import { LocalVolumes } from "./volumes.ts";
import { TaskEtcFiles } from "./etc_files.ts";
import { TaskLogFiles } from "./task_logs.ts";

/** An image reference pinned to a content digest: what it names can never change. */
const DIGEST_REFERENCE = /@sha256:[0-9a-f]{64}$/;
/** Service versions remembered as pulled (a few per service is plenty). */
const PULLED_FOR_MAX = 1024;
/** First and longest wait before a failed container removal is tried again. */
const REMOVE_RETRY_MIN_MS = 1_000;
const REMOVE_RETRY_MAX_MS = 60_000;

/** Sets up and tears down a task's network (CNI, overlay); default: host networking. */
export interface NetworkHooks {
  /** `resolvConfPath`: a resolv.conf pointing at the node's resolver, mounted read-only. */
  attach(a: Assignment): Promise<{ network: NetworkMode; ip?: string; resolvConfPath?: string }>;
  detach(taskId: string): Promise<void>;
  /**
   * Called before a running task's container is stopped: take the task out of service VIPs and
   * DNS and let other nodes catch up, so no new connection reaches a dying container.
   */
  drain?(a: Assignment): Promise<void>;
}

/** Host networking: the container shares the node's network; probes go to 127.0.0.1. */
export const hostNetwork: NetworkHooks = {
  attach: () => Promise.resolve({ network: { mode: "host" } }),
  detach: () => Promise.resolve(),
};

/** Options of {@link Worker.open}. */
export interface WorkerOptions {
  /** This node's ID (labels its containers). */
  nodeId: string;
  /** Holds `worker.kv`, `volumes/<name>.<id>` and `logs/<task>.log`. */
  dataDir: string;
  runtime: Runtime;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: {@link hostNetwork}. */
  network?: NetworkHooks;
  /** Registry credentials for an image reference, if any. */
  credentials?: (image: string) => RegistryAuth | undefined;
  /** Replaces the built-in health probes (tests). */
  probe?: (check: NonNullable<Assignment["spec"]["healthCheck"]>, target: ProbeTarget) => Probe;
  /** Open the local state here instead of `<dataDir>/worker.kv` (`:memory:` for tests). */
  statePath?: string;
}

/** One task as {@link Worker.tasks} lists it. */
export interface WorkerTask {
  taskId: string;
  serviceId: string;
  serviceName: string;
  slot?: number;
  state: TaskState;
  desiredState: TaskState;
  health: TaskHealth;
  message: string;
  exitCode?: number;
  localRestarts: number;
}

/** Per-task resource usage for the HTTP layer's metrics. */
export interface TaskMetrics {
  taskId: string;
  serviceId: string;
  serviceName: string;
  /** Total CPU time, nanoseconds. */
  cpuNs: number;
  memoryBytes: number;
}

/** The tasks of one node. See the module doc. */
export class Worker {
  readonly nodeId: string;
  readonly runtime: Runtime;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly volumes: LocalVolumes;
  readonly secrets = new SecretCache();
  readonly #o: WorkerOptions;
  readonly #etcFiles: TaskEtcFiles;
  readonly #logFiles: TaskLogFiles;
  readonly #state: LocalState;
  readonly #runners = new Map<string, TaskRunner>();
  readonly #removing = new Set<Promise<void>>();
  /** Tasks no longer in {@link #runners} whose container is still being stopped or removed. */
  readonly #removingIds = new Set<string>();
  readonly #listeners = new Set<(u: TaskStatusUpdate) => void>();
  readonly #messageListeners = new Set<(msg: AssignmentsMessage) => void>();
  readonly #pulls = new Map<string, Promise<void>>();
  /** Progress listeners of the pull under the same key (tasks sharing it). */
  readonly #pullListeners = new Map<string, Set<(text: string) => void>>();
  /** `<image> <service>@<specVersion>` pulled successfully, oldest first (bounded). */
  readonly #pulledFor = new Set<string>();
  readonly #log: Logger;
  #connected = false;
  #closed = false;
  /** Set once the first complete assignments message (with this node's secrets) was applied. */
  #synced = false;
  /**
   * Resumed tasks that had not started yet: they may need secrets, which live in memory only, so
   * they wait for the first complete assignments message. Running tasks need nothing from it.
   */
  readonly #held = new Set<TaskRunner>();
  /** Aborted by {@link Worker.stop}: ends the retries of failed removals. */
  readonly #stopping = new AbortController();
  /** Containers found running at start and re-adopted. */
  adopted: string[] = [];

  private constructor(o: WorkerOptions, state: LocalState) {
    this.#o = o;
    this.nodeId = o.nodeId;
    this.runtime = o.runtime;
    this.clock = o.clock ?? systemClock;
    this.dataDir = o.dataDir;
    this.volumes = new LocalVolumes(o.dataDir, logger("volumes", { node: o.nodeId }));
    this.#etcFiles = new TaskEtcFiles(o.dataDir);
    this.#logFiles = new TaskLogFiles(o.dataDir);
    this.#state = state;
    this.#log = logger("worker", { node: o.nodeId });
  }

  /** Opens the local state, cleans up unowned containers and resumes recorded tasks. */
  static async open(o: WorkerOptions): Promise<Worker> {
    await Deno.mkdir(join(o.dataDir, "logs"), { recursive: true, mode: 0o700 });
    const state = await LocalState.open(o.statePath ?? join(o.dataDir, "worker.kv"));
    const w = new Worker(o, state);
    try {
      await w.#resume();
    } catch (err) {
      w.#stopping.abort(); // no removal retries left running for a worker that never opened
      await state.close();
      throw err;
    }
    return w;
  }

  async #resume(): Promise<void> {
    const records = await this.#state.load();
    const known = new Set(records.map((r) => r.assignment.task.id));
    const containers = await this.runtime.list({ labels: { [Labels.nodeId]: this.nodeId } });
    const network = this.#o.network ?? hostNetwork;
    for (const c of containers) {
      if (known.has(c.id)) continue;
      this.#log.info("removing a container this worker no longer owns", { container: c.id });
      try {
        await this.runtime.remove(c.id);
      } catch (err) {
        // One container that will not go (a dead shim, a busy mount) must not keep the node
        // from starting and re-adopting its tasks: it is retried in the background.
        this.#log.warn("cannot remove a container this worker no longer owns; retrying", {
          container: c.id,
          err,
        });
        this.#removeUnowned(c.id, network);
        continue;
      }
      // Its IP lease, netns and host ports too, or a later task publishing the port conflicts.
      // (Its /etc and log files go with the prunes below.)
      await network.detach(c.id);
    }
    await this.#etcFiles.prune(known);
    await this.#logFiles.prune(known);
    const running = new Set(containers.filter((c) => c.state === "running").map((c) => c.id));
    for (const r of records) {
      if (r.status.state === "running" && running.has(r.assignment.task.id)) {
        this.adopted.push(r.assignment.task.id);
      }
      this.#add(r, { hold: taskStateOrder(r.status.state) < taskStateOrder("running") });
    }
    if (records.length > 0) {
      this.#log.info("resumed tasks from local state", {
        tasks: records.length,
        adopted: this.adopted.length,
      });
    }
  }

  /** Whether a manager is reachable (set by the agent). */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Tells the worker whether a manager is reachable; while not, it restarts tasks itself.
   * `stopping`: the session ended because this node is shutting down, not because the managers
   * are gone (the log says so).
   */
  setConnected(connected: boolean, why?: "stopping"): void {
    if (connected !== this.#connected) {
      this.#log.info(
        connected
          ? "manager reachable"
          : why === "stopping"
          ? "shutting down: no longer taking work from the managers"
          : "no manager reachable: running autonomously",
      );
    }
    this.#connected = connected;
  }

  /** Subscribes to status changes. @returns the unsubscribe function */
  onStatus(listener: (u: TaskStatusUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Subscribes to every applied assignments message: overlay peers and service endpoints are
   * for the network layer (WireGuard, DNS, VIPs), which the daemon wires here.
   * @returns the unsubscribe function
   */
  onAssignments(listener: (msg: AssignmentsMessage) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** The current status of every task (reported in full after each reconnect). */
  statuses(): TaskStatusUpdate[] {
    return [...this.#runners.values()].map((r) => ({ taskId: r.id, status: r.status }));
  }

  /** A snapshot of the tasks. */
  tasks(): WorkerTask[] {
    return [...this.#runners.values()].map((r) => ({
      taskId: r.id,
      serviceId: r.assignment.task.serviceId,
      serviceName: r.assignment.serviceName,
      ...(r.assignment.task.slot !== undefined ? { slot: r.assignment.task.slot } : {}),
      state: r.status.state,
      desiredState: r.desiredState,
      health: r.status.health,
      message: r.status.message,
      ...(r.status.exitCode !== undefined ? { exitCode: r.status.exitCode } : {}),
      localRestarts: r.restartCount,
    })).sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  }

  /** The runner of task `id` (tests and diagnostics). */
  /**
   * The output of a task whose container is gone, from the log files the node keeps of recently
   * ended tasks (task_logs.ts); undefined when none are kept.
   */
  endedTaskLogs(
    id: string,
    options: LogsOptions = {},
  ): Promise<AsyncIterable<LogEntry> | undefined> {
    return this.#logFiles.ended(id, options);
  }

  runner(id: string): TaskRunner | undefined {
    return this.#runners.get(id);
  }

  /**
   * Applies an assignments message: secrets first, then new tasks start, known ones take their
   * new desired state, and tasks no longer assigned are stopped and removed (in the background).
   */
  applyAssignments(msg: AssignmentsMessage): void {
    if (this.#closed) return;
    this.secrets.apply(msg);
    this.volumes.apply(msg);
    const plan = planReconcile(new Set(this.#runners.keys()), msg);
    for (const a of plan.update) this.#runners.get(a.task.id)!.update(a);
    for (const a of plan.create) {
      this.#add({ assignment: a, status: a.task.status, restarts: [] });
    }
    for (const a of plan.lost) {
      this.#emit({
        taskId: a.task.id,
        status: {
          ...a.task.status,
          state: "failed",
          error: "this worker has no record of the task (its local state was lost)",
          message: "this worker has no record of the task (its local state was lost)",
          timestamp: this.clock.now(),
        },
      });
    }
    for (const id of plan.remove) this.#remove(id);
    if (msg.complete && !this.#synced) {
      this.#synced = true;
      for (const r of this.#held) if (this.#runners.get(r.id) === r) void r.run();
      this.#held.clear();
    }
    for (const l of this.#messageListeners) {
      try {
        l(msg);
      } catch (err) {
        this.#log.error("assignments listener failed", { err });
      }
    }
  }

  /** CPU and memory of every running task. */
  async metrics(): Promise<TaskMetrics[]> {
    const out: TaskMetrics[] = [];
    for (const r of this.#runners.values()) {
      if (r.status.state !== "running") continue;
      try {
        const s = await this.runtime.stats(r.id);
        out.push({
          taskId: r.id,
          serviceId: r.assignment.task.serviceId,
          serviceName: r.assignment.serviceName,
          cpuNs: s.cpuUsageNs,
          memoryBytes: s.memoryBytes,
        });
      } catch {
        // Exited between the check and the call: no sample this time.
      }
    }
    return out;
  }

  /** Resolves once every queued local-state write and container removal has finished. */
  async settled(): Promise<void> {
    while (this.#removing.size > 0) await Promise.all(this.#removing);
    await this.volumes.settled();
    await this.#state.flushed();
  }

  /**
   * Stops the worker: no new work is accepted; with `drain`, every task is shut down (stop
   * signal, grace period) first; without, containers keep running for the next start to adopt.
   * With `remove` (the node leaves its cluster for good; implies `drain`), every container of
   * this node is then removed too, with its network, /etc and log files and its local record.
   */
  async stop(opts: { drain?: boolean; remove?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const runners = [...this.#runners.values()];
    if (opts.drain || opts.remove) {
      for (const r of runners) r.requestShutdown();
      await Promise.all(runners.map((r) => r.run()));
    }
    await Promise.all(runners.map((r) => r.detach()));
    // Removals queued before the stop finish (or give up) first: the sweep below must not race
    // them for the same containers.
    this.#stopping.abort();
    await this.settled();
    if (opts.remove) {
      await this.#removeAll(runners);
      await this.settled();
    }
    await this.#state.close();
    this.secrets.clear();
  }

  /**
   * Removes the containers of `runners` and then any other container labelled with this node
   * (a removal given up above). A stopped task keeps its containerd shim (and the shim its log
   * driver) alive and its rootfs mounted until the task is deleted: a node that leaves must
   * delete them while the runtime still answers, since a containerd Warren started itself is
   * stopped next and nothing would ever reap them. A failed removal is logged and its record
   * kept, so a later start on this data directory retries it.
   */
  async #removeAll(runners: TaskRunner[]): Promise<void> {
    await Promise.all(runners.map(async (r) => {
      try {
        await r.remove();
      } catch (err) {
        this.#log.warn("cannot remove a task's container on leaving", { task: r.id, err });
        return;
      }
      this.#runners.delete(r.id);
      this.volumes.release(r.id);
      await this.#state.delete(r.id).catch((err) =>
        this.#log.error("cannot delete local state", { task: r.id, err })
      );
    }));
    const network = this.#o.network ?? hostNetwork;
    const left = await this.runtime.list({ labels: { [Labels.nodeId]: this.nodeId } }).catch(
      (err) => {
        this.#log.warn("cannot list containers on leaving", { err });
        return [];
      },
    );
    for (const c of left) {
      if (this.#runners.has(c.id)) continue; // its removal failed above (logged)
      try {
        await this.runtime.remove(c.id);
        await network.detach(c.id);
        await this.#state.delete(c.id);
      } catch (err) {
        this.#log.warn("cannot remove a container on leaving", { container: c.id, err });
      }
    }
    // The /etc files of containers swept above (the runners removed their own), and every
    // log file: out of the cluster, nobody asks for them.
    const kept = new Set(this.#runners.keys());
    await Promise.all([this.#etcFiles.prune(kept), this.#logFiles.removeAll()]).catch((err) =>
      this.#log.warn("cannot remove task files on leaving", { err })
    );
  }

  /** @param opts.hold do not step the task before the first complete assignments message */
  #add(record: TaskRecord, opts: { hold?: boolean } = {}): void {
    const runner = new TaskRunner({
      runtime: this.runtime,
      clock: this.clock,
      nodeId: this.nodeId,
      hooks: this.#hooks(),
      isConnected: () => this.#connected,
      onChange: (r) => {
        void this.#state.put(r.record).catch((err) =>
          this.#log.error("cannot write local state", { task: r.id, err })
        );
        this.#emit({ taskId: r.id, status: r.status });
      },
      log: this.#log,
    }, record);
    this.#runners.set(runner.id, runner);
    this.volumes.hold(runner.id, record.assignment.spec.mounts);
    void this.#state.put(runner.record).catch((err) =>
      this.#log.error("cannot write local state", { task: runner.id, err })
    );
    if (isTerminal(record.status.state)) return;
    if (opts.hold && !this.#synced) this.#held.add(runner);
    else void runner.run();
  }

  #remove(id: string): void {
    const runner = this.#runners.get(id);
    if (!runner) return;
    this.#runners.delete(id);
    this.#removingIds.add(id);
    const p = (async () => {
      let delayMs = REMOVE_RETRY_MIN_MS;
      for (;;) {
        try {
          await runner.remove();
          // Its container is gone: a deleted volume it mounted may go too, and its log files
          // count among the ended ones.
          this.#removingIds.delete(id);
          this.volumes.release(id);
          break;
        } catch (err) {
          // The container may still exist (runtime unavailable): keep the record and try again.
          // A worker stopping meanwhile resumes the task from the record at its next start,
          // and the first complete assignments message removes it then.
          this.#log.warn("cannot remove a task's container; retrying", { task: id, delayMs, err });
        }
        if (!await sleep(this.clock, delayMs, this.#stopping.signal)) return;
        delayMs = Math.min(delayMs * 2, REMOVE_RETRY_MAX_MS);
      }
      // Tell the manager the task is down: a task dropped from the assignments (e.g. its
      // service was deleted) would otherwise stay "running" in the cluster state forever.
      // Stale reports (the task reaped already) are ignored by the manager.
      if (!isTerminal(runner.status.state)) {
        this.#emit({
          taskId: id,
          status: {
            ...runner.status,
            state: "shutdown",
            message: "stopped: no longer assigned to this node",
            timestamp: this.clock.now(),
          },
        });
      }
      await this.#state.delete(id).catch((err) =>
        this.#log.error("cannot delete local state", { task: id, err })
      );
    })();
    this.#removing.add(p);
    void p.finally(() => {
      this.#removing.delete(p);
      this.#removingIds.delete(id);
    });
  }

  /**
   * Retries the removal of a container found at start that no task of this worker owns, with
   * backoff, until it goes (then its network is released) or the worker stops (the next start
   * tries again).
   */
  #removeUnowned(id: string, network: NetworkHooks): void {
    const p = (async () => {
      let delayMs = REMOVE_RETRY_MIN_MS;
      for (;;) {
        if (!await sleep(this.clock, delayMs, this.#stopping.signal)) return;
        try {
          await this.runtime.remove(id);
          break;
        } catch (err) {
          this.#log.warn("cannot remove a container this worker no longer owns; retrying", {
            container: id,
            delayMs,
            err,
          });
        }
        delayMs = Math.min(delayMs * 2, REMOVE_RETRY_MAX_MS);
      }
      await network.detach(id);
    })().catch((err) => this.#log.error("cannot release an unowned container's network", { err }));
    this.#removing.add(p);
    void p.finally(() => this.#removing.delete(p));
  }

  #emit(u: TaskStatusUpdate): void {
    for (const l of this.#listeners) {
      try {
        l(u);
      } catch (err) {
        this.#log.error("status listener failed", { err });
      }
    }
  }

  #hooks(): TaskHooks {
    const network = this.#o.network ?? hostNetwork;
    return {
      pull: (a, onProgress) => this.#pull(a, onProgress),
      mounts: (a) => this.volumes.resolve(a.spec.mounts, a.task.id),
      secrets: (a) => this.secrets.files(a.spec.secrets),
      attachNetwork: (a) => network.attach(a),
      detachNetwork: (id) => network.detach(id),
      ...(network.drain ? { drainNetwork: (a: Assignment) => network.drain!(a) } : {}),
      logPath: (id) => this.#logFiles.path(id),
      retireLogs: (id) => {
        // A task being removed still has its container (a stop can take the grace period,
        // minutes): its files are not among the ended ones yet, however old its last line.
        const live = new Set([...this.#runners.keys(), ...this.#removingIds]);
        live.delete(id);
        return this.#logFiles.retire(id, live);
      },
      etcFiles: (id, input) => this.#etcFiles.write(id, input),
      removeEtcFiles: (id) => this.#etcFiles.remove(id),
      ...(this.#o.probe ? { probe: this.#o.probe } : {}),
    };
  }

  /**
   * Pulls the task's image, sharing one pull among tasks that need it at the same time.
   *
   * The registry is asked once per image and service version (`docker service create/update`
   * pulls; scaling up or replacing a task of the same version does not), and never for a digest
   * reference that is present already: later tasks take the image from the local store
   * (`ifMissing`), which still pulls if it has gone meanwhile.
   */
  #pull(a: Assignment, onProgress?: (text: string) => void): Promise<void> {
    const image = a.spec.image;
    const version = `${image} ${a.task.serviceId}@${a.task.specVersion}`;
    const ifMissing = DIGEST_REFERENCE.test(image) || this.#pulledFor.has(version);
    // Tasks share a pull only with the same login: a service must not get, through another
    // service's pull in flight, an image its own credentials (or none) could not fetch.
    const key = `${ifMissing ? "local" : "registry"} ${image} ${a.spec.registryAuthSecret ?? ""}`;
    let p = this.#pulls.get(key);
    let listeners = this.#pullListeners.get(key);
    if (!p) {
      // The service's own login (a secret sent with its tasks), else the node's.
      const credentials = a.spec.registryAuthSecret
        ? parseRegistryAuth(this.secrets.data(a.spec.registryAuthSecret), a.spec.registryAuthSecret)
        : this.#o.credentials?.(image);
      const progress = new PullProgress(image);
      const all = listeners = new Set();
      this.#pullListeners.set(key, all);
      p = this.runtime.pull(image, {
        ...(credentials ? { credentials } : {}),
        ifMissing,
        onProgress: (e) => {
          const text = progress.update(e);
          if (text) { for (const l of all) l(text); }
        },
      }).then(() => {});
      this.#pulls.set(key, p);
      void p.finally(() => {
        this.#pulls.delete(key);
        this.#pullListeners.delete(key);
      }).catch(() => {});
    }
    if (onProgress) listeners?.add(onProgress);
    return p.then(() => {
      this.#pulledFor.delete(version);
      this.#pulledFor.add(version);
      if (this.#pulledFor.size > PULLED_FOR_MAX) {
        this.#pulledFor.delete(this.#pulledFor.values().next().value!);
      }
    });
  }
}

/** Type of a status as published (re-exported for listeners). */
export type { TaskStatus };

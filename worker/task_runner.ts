/**
 * The step machine of one task. Each {@link TaskRunner.step} makes at most one forward
 * transition, checked with the same `assertForward` the manager uses:
 *
 * ```
 * assigned ─▶ accepted ─▶ preparing ─▶ starting ─▶ running ─▶ complete | failed
 *                          (pull,       (prepare,     │
 *                           volumes,     start)       ├─ desired shutdown ─▶ stop ─▶ shutdown
 *                           secrets)                  ├─ unhealthy ─▶ stop ─▶ failed
 *                                                     └─ exit (or unhealthy) while no manager is
 *      any non-terminal state ─ desired shutdown ─▶ shutdown   reachable: restart locally per
 *      preparing fails ─▶ rejected; starting fails ─▶ failed   policy (state stays running)
 * ```
 *
 * An unhealthy task is not left running: as in Docker Swarm, the worker drains and stops its
 * container (stop signal and grace period) and reports it `failed` ("unhealthy: <last probe
 * error>"), and the orchestrator's restart policy replaces it like a task that exited non-zero.
 *
 * Every step is idempotent against the runtime (a starting task whose container already exists
 * is not created twice), so a restarted worker resumes a task from its recorded state and
 * re-adopts a running container without restarting it.
 * @module
 */
import {
  assertForward,
  type Assignment,
  canTransition,
  isTerminal,
  taskName,
  type TaskState,
  taskStateOrder,
  type TaskStatus,
} from "../proto/schema/mod.ts";
import { FailedPreconditionError, NotFoundError, WarrenError } from "../proto/errors.ts";
import type { Logger } from "../proto/log.ts";
import type {
  BindVolumeMount,
  ContainerStatus,
  ExitInfo,
  NetworkMode,
  Runtime,
} from "../runtime/runtime.ts";
import { type Clock, sleep } from "./clock.ts";
import { containerConfig, type ResolvedTaskInputs } from "./container_config.ts";
import { HealthMonitor } from "./health_monitor.ts";
import { type HealthState, initialHealth } from "./health_state.ts";
import { makeProbe, type Probe, type ProbeTarget } from "./probes.ts";
import { decideRestart, pruneHistory, type StopCause } from "./restart_policy.ts";

/** Least time between two pull progress messages of a task. */
const PROGRESS_EVERY_MS = 1_000;
/** First and longest wait before a runtime call that failed transiently is tried again. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/** Why a running task's container is gone or was never started (e.g. after a host reboot). */
const LOST = "the container's process is gone (was the host rebooted?)";

/** What the worker does for a task before its container exists. */
export interface TaskHooks {
  /** Pulls the task's image; `onProgress` gets a line like `pulling web:1: 3.1 of 12.0 MB`. */
  pull(a: Assignment, onProgress?: (text: string) => void): Promise<void>;
  /** Resolves (and creates) the task's volume and bind mounts. */
  mounts(a: Assignment): Promise<ResolvedTaskInputs["mounts"]>;
  /** The task's secret files. @throws NotFoundError when a secret was not sent to this node */
  secrets(a: Assignment): ResolvedTaskInputs["secrets"];
  /** Network of the container and the task IP; idempotent per task. */
  attachNetwork(
    a: Assignment,
  ): Promise<{ network: NetworkMode; ip?: string; resolvConfPath?: string }>;
  /** Releases what {@link attachNetwork} set up. Idempotent. */
  detachNetwork(taskId: string): Promise<void>;
  /** Takes a running task out of service traffic before its container is stopped. */
  drainNetwork?(a: Assignment): Promise<void>;
  /** The host file the container's output goes to. */
  logPath(taskId: string): string;
  /**
   * The task's container is gone: its log files join the node's ended ones (kept a while for
   * `service logs`, task_logs.ts). Idempotent.
   */
  retireLogs?(taskId: string): Promise<void>;
  /** Writes the task's /etc/hostname and /etc/hosts (etc_files.ts); their read-only mounts. */
  etcFiles?(
    taskId: string,
    input: { hostname: string; ip?: string; network: NetworkMode },
  ): Promise<BindVolumeMount[]>;
  /** Removes what {@link etcFiles} wrote. Idempotent. */
  removeEtcFiles?(taskId: string): Promise<void>;
  /** The health probe of a check; defaults to probes.ts. */
  probe?(check: NonNullable<Assignment["spec"]["healthCheck"]>, target: ProbeTarget): Probe;
}

/** Everything a runner needs from its worker. */
export interface RunnerEnv {
  runtime: Runtime;
  clock: Clock;
  nodeId: string;
  hooks: TaskHooks;
  /** Whether a manager is reachable now; while not, restart policies apply locally. */
  isConnected(): boolean;
  /** Called after every status change (the worker persists and reports it). */
  onChange(runner: TaskRunner): void;
  log: Logger;
}

/** A runner's durable state (the worker keeps it in Deno KV). */
export interface TaskRecord {
  /** The task as last received, with its spec. */
  assignment: Assignment;
  /** What this worker last observed. */
  status: TaskStatus;
  /** Times (ms) of local restarts, for the restart policy's max attempts. */
  restarts: number[];
}

/** A local restart decided by the restart policy, kept while the runtime cannot do it yet. */
interface LocalRestart {
  /** Why the container stopped, for the message. */
  after: string;
  previousCode: number | undefined;
  attempt: number;
}

/** Runs one task. See the module doc. */
export class TaskRunner {
  readonly #env: RunnerEnv;
  #a: Assignment;
  #status: TaskStatus;
  #restarts: number[];
  #localStop = false;
  #detached = false;
  /** The task's container was taken out of service traffic already (a stop is being retried). */
  #drained = false;
  /** Next backoff after a transient runtime failure (containerd restarting). */
  #retryMs = RETRY_MIN_MS;
  /** A local restart that failed transiently: the next step tries it again. */
  #pendingRestart: LocalRestart | undefined;
  #version = 0;
  #wakeCtl = new AbortController();
  #health: HealthMonitor | undefined;
  /** Set when the health check turned unhealthy: the error the task fails with. */
  #unhealthy: string | undefined;
  #loop: Promise<void> | undefined;
  readonly #log: Logger;

  constructor(env: RunnerEnv, record: TaskRecord) {
    this.#env = env;
    this.#a = record.assignment;
    this.#status = record.status;
    this.#restarts = [...record.restarts];
    this.#log = env.log.with({ task: this.id });
  }

  /** Task ID (= container ID). */
  get id(): string {
    return this.#a.task.id;
  }
  /** `<service>.<slot>`, for messages. */
  get name(): string {
    return taskName(this.#a.serviceName, this.#a.task);
  }
  /** The last observed status. */
  get status(): TaskStatus {
    return this.#status;
  }
  /** The state the manager wants (terminal also after a local shutdown request). */
  get desiredState(): TaskState {
    return this.#localStop ? "shutdown" : this.#a.task.desiredState;
  }
  /** The assignment (task and spec) as last received. */
  get assignment(): Assignment {
    return this.#a;
  }
  /** The durable record. */
  get record(): TaskRecord {
    return { assignment: this.#a, status: this.#status, restarts: [...this.#restarts] };
  }
  /** Local restarts so far (within the policy's window). */
  get restartCount(): number {
    return this.#restarts.length;
  }

  /**
   * Takes a newer view of the task from the manager: the desired state moves forward only (a
   * stale message cannot revive a task); the spec of a task never changes.
   */
  update(a: Assignment): void {
    if (a.task.id !== this.id) {
      throw new Error(`assignment ${a.task.id} given to runner ${this.id}`);
    }
    const desired = canTransition(this.#a.task.desiredState, a.task.desiredState)
      ? a.task.desiredState
      : this.#a.task.desiredState;
    const changed = desired !== this.#a.task.desiredState;
    this.#a = { ...a, task: { ...a.task, desiredState: desired } };
    if (changed) this.#wake();
  }

  /** Asks the task to stop (drain on exit), as if the manager wanted it shut down. */
  requestShutdown(): void {
    this.#localStop = true;
    this.#wake();
  }

  /**
   * Makes at most one transition (or, while running, waits for the container to exit or the
   * desired state to change). @returns true when the caller should step again at once, false
   * when the task is terminal or waits for a new desired state.
   */
  async step(): Promise<boolean> {
    const s = this.#status.state;
    if (isTerminal(s) || this.#detached) return false;
    if (isTerminal(this.desiredState)) {
      await this.#shutdown();
      return true;
    }
    const desired = this.desiredState;
    if (s !== "running" && taskStateOrder(s) >= taskStateOrder(desired)) return false;
    switch (s) {
      case "new":
      case "pending":
      case "assigned":
        this.#move("accepted", { message: "accepted" });
        return true;
      case "accepted":
        this.#move("preparing", { message: `preparing: pulling ${this.#a.spec.image}` });
        return true;
      case "preparing":
        await this.#prepare();
        return true;
      case "starting":
        await this.#start();
        return true;
      case "running":
        if (this.#pendingRestart) return await this.#retryRestart(this.#pendingRestart);
        if (this.#unhealthy !== undefined) return await this.#stopUnhealthy(this.#unhealthy);
        return await this.#supervise();
    }
    return false;
  }

  /** Steps until the task is terminal or detached (idempotent: one loop per runner). */
  run(): Promise<void> {
    return this.#loop ??= (async () => {
      while (!isTerminal(this.#status.state) && !this.#detached) {
        const v = this.#version;
        let again: boolean;
        try {
          again = await this.step();
        } catch (err) {
          // A step never throws on purpose; a bug must not leave a task silently stuck.
          this.#log.error("task step failed", { err });
          if (!isTerminal(this.#status.state)) this.#fail(`internal error: ${message(err)}`);
          again = true;
        }
        if (!again && this.#version === v) await this.#nextWake();
      }
      this.#stopHealth();
    })();
  }

  /** Stops stepping and health checks; the container is left as it is (worker shutdown). */
  async detach(): Promise<void> {
    this.#detached = true;
    this.#wake();
    this.#stopHealth();
    await this.#loop;
  }

  /**
   * Stops (gracefully) and removes the container, releases its network and deletes its log
   * files. Idempotent: when it throws (the runtime is unavailable), the caller calls it again.
   */
  async remove(): Promise<void> {
    await this.detach();
    const { runtime, hooks } = this.#env;
    if (this.#status.state === "running") await this.#drain();
    try {
      await runtime.stop(this.id, this.#stopOptions());
    } catch (err) {
      if (!(err instanceof NotFoundError)) this.#log.warn("cannot stop container", { err });
    }
    try {
      await runtime.remove(this.id);
    } finally {
      // Released even when the removal failed, so a retry that never succeeds leaks nothing.
      await hooks.removeEtcFiles?.(this.id);
      await hooks.detachNetwork(this.id);
    }
    await hooks.retireLogs?.(this.id);
  }

  // ---- transitions -------------------------------------------------------------------------

  #move(to: TaskState, fields: Partial<TaskStatus> = {}): void {
    assertForward(this.#status.state, to, `task "${this.name}"`);
    this.#status = {
      ...this.#status,
      message: "",
      ...fields,
      state: to,
      timestamp: this.#env.clock.now(),
    };
    if (isTerminal(to)) this.#stopHealth();
    this.#env.onChange(this);
  }

  /** Changes fields without changing state (health, restart messages). */
  #annotate(fields: Partial<TaskStatus>): void {
    this.#status = { ...this.#status, ...fields, timestamp: this.#env.clock.now() };
    this.#env.onChange(this);
  }

  #fail(error: string, exitCode?: number): void {
    const to = taskStateOrder(this.#status.state) < taskStateOrder("starting")
      ? "rejected"
      : "failed";
    this.#move(to, { error, message: error, ...(exitCode !== undefined ? { exitCode } : {}) });
  }

  async #prepare(): Promise<void> {
    const { hooks } = this.#env;
    const wake = this.#wakeCtl.signal;
    try {
      let shownAt = -Infinity;
      const pull = hooks.pull(this.#a, (text) => {
        // At most one progress report a second: each is a status update to the managers.
        const now = this.#env.clock.now();
        if (this.#status.state !== "preparing" || this.#detached) return;
        if (now - shownAt < PROGRESS_EVERY_MS) return;
        shownAt = now;
        this.#annotate({ message: `preparing: ${text}` });
      });
      // A shutdown or detach does not wait for the pull (it can take minutes); the pull, which
      // other tasks may share, goes on in the background.
      if (await untilWoken(pull, wake) === WOKEN) return;
      await hooks.mounts(this.#a);
      hooks.secrets(this.#a);
    } catch (err) {
      this.#move("rejected", { error: message(err), message: `preparing failed: ${message(err)}` });
      return;
    }
    // Asked to stop meanwhile: the next step shuts the task down instead of starting it.
    if (this.#detached || isTerminal(this.desiredState)) return;
    this.#move("starting", { message: "starting" });
  }

  async #start(): Promise<void> {
    try {
      const st = await this.#createAndStart();
      this.#move("running", {
        message: st.adopted ? "re-adopted a running container" : "started",
        containerId: this.id,
        health: this.#a.spec.healthCheck ? "starting" : "none",
        ...(st.ip ? { ip: st.ip } : {}),
      });
      this.#startHealth(undefined);
    } catch (err) {
      this.#move("failed", { error: message(err), message: `start failed: ${message(err)}` });
    }
  }

  /** Creates and starts the container unless it exists already (adoption after a restart). */
  async #createAndStart(): Promise<{ adopted: boolean; ip?: string }> {
    const { runtime, hooks } = this.#env;
    let st: ContainerStatus | undefined;
    try {
      st = await runtime.inspect(this.id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const net = await hooks.attachNetwork(this.#a);
    if (!st) {
      const mounts = await hooks.mounts(this.#a);
      // The node's resolver answers service names (and forwards the rest).
      if (net.resolvConfPath) {
        mounts.push({
          source: net.resolvConfPath,
          destination: "/etc/resolv.conf",
          readonly: true,
        });
      }
      const cfg = containerConfig(this.#a, {
        nodeId: this.#env.nodeId,
        mounts,
        secrets: hooks.secrets(this.#a),
        network: net.network,
        logPath: hooks.logPath(this.id),
      });
      const etc = await hooks.etcFiles?.(this.id, {
        hostname: cfg.hostname!,
        ...(net.ip ? { ip: net.ip } : {}),
        network: net.network,
      }) ?? [];
      // A mount of the spec at the same path wins, as in Docker.
      cfg.mounts = [
        ...cfg.mounts!,
        ...etc.filter((e) => !mounts.some((m) => m.destination === e.destination)),
      ];
      await runtime.prepare(cfg);
      await runtime.start(this.id);
      return { adopted: false, ...(net.ip ? { ip: net.ip } : {}) };
    }
    if (st.state === "created") await runtime.start(this.id);
    return { adopted: st.state !== "created", ...(net.ip ? { ip: net.ip } : {}) };
  }

  async #shutdown(): Promise<void> {
    this.#stopHealth();
    if (taskStateOrder(this.#status.state) < taskStateOrder("starting")) {
      this.#move("shutdown", { message: "shut down before it started" });
      return;
    }
    if (this.#status.state === "running") await this.#drain();
    let exit: ExitInfo | undefined;
    try {
      exit = await this.#env.runtime.stop(this.id, this.#stopOptions());
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        // The container may still run: reporting it shut down would be a lie. Try again.
        this.#log.warn("stopping the container failed; retrying", { err });
        await this.#backoff();
        return;
      }
    }
    this.#retryMs = RETRY_MIN_MS;
    this.#move("shutdown", {
      message: "shut down",
      ...(exit ? { exitCode: exit.exitCode } : {}),
    });
  }

  /** No new connection may reach the container once it stops: leave the VIPs first (once). */
  async #drain(): Promise<void> {
    if (this.#drained) return;
    this.#drained = true;
    try {
      await this.#env.hooks.drainNetwork?.(this.#a);
    } catch (err) {
      this.#log.warn("cannot drain the task's network before stopping it", { err });
    }
  }

  #stopOptions(): { signal: string; gracePeriodMs: number } {
    return { signal: this.#a.spec.stopSignal, gracePeriodMs: this.#a.spec.stopGracePeriodMs };
  }

  /** Waits for the container to exit, the desired state to change or the task to turn unhealthy. */
  async #supervise(): Promise<boolean> {
    if (!this.#health) this.#startHealth(this.#status.health);
    if (this.#unhealthy !== undefined) return true;
    const wake = this.#wakeCtl.signal;
    const waitCtl = new AbortController();
    const onWake = () => waitCtl.abort(new Error("woken"));
    wake.addEventListener("abort", onWake, { once: true });
    let exit: ExitInfo | undefined;
    try {
      exit = await this.#env.runtime.wait(this.id, waitCtl.signal);
    } catch (err) {
      if (waitCtl.signal.aborted) return true; // desired state changed or detached
      if (isRetryable(err)) {
        // containerd restarting ends every pending Tasks/Wait, but not the containers.
        this.#log.warn("waiting for the container failed; checking again", { err });
        if (!await this.#backoff()) return true; // woken: the desired state changed or detached
        return await this.#recheck(err);
      }
      // Gone, or not started (after a reboot containerd keeps the container, not its task).
      if (err instanceof NotFoundError || err instanceof FailedPreconditionError) {
        return await this.#recheck(err);
      }
      throw err;
    } finally {
      wake.removeEventListener("abort", onWake);
    }
    return await this.#stopped(exit.exitCode, exit.exitCode);
  }

  /**
   * After a wait failed (`waitErr`): asks the runtime how the container is. It ends the task only
   * if the container has exited, or is gone or was never started (its process is lost, e.g. the
   * host rebooted), both through the restart policy; a running one is waited for again.
   */
  async #recheck(waitErr: unknown): Promise<boolean> {
    let st: ContainerStatus | undefined;
    try {
      st = await this.#env.runtime.inspect(this.id);
    } catch (err) {
      if (isRetryable(err)) return true; // still down: the next wait fails and backs off longer
      if (!(err instanceof NotFoundError)) throw err;
    }
    this.#retryMs = RETRY_MIN_MS;
    if (!st || st.state === "created") return await this.#stopped("lost", undefined);
    if (st.state === "stopped") {
      const code = st.exitCode ?? 255;
      return await this.#stopped(code, code);
    }
    if (!isRetryable(waitErr)) throw waitErr; // running, yet it cannot be waited for: a bug
    return true;
  }

  /**
   * Waits before retrying a runtime call that failed transiently, longer each time (reset on
   * success). @returns false when woken early (desired state changed, detached)
   */
  #backoff(): Promise<boolean> {
    const ms = this.#retryMs;
    this.#retryMs = Math.min(ms * 2, RETRY_MAX_MS);
    return sleep(this.#env.clock, ms, this.#wakeCtl.signal);
  }

  /**
   * Stops the container of a task whose health check failed. It is drained first unless it
   * is about to be restarted locally (the task keeps its ID and its place in the VIPs then).
   */
  async #stopUnhealthy(error: string): Promise<boolean> {
    this.#stopHealth();
    const { clock, runtime } = this.#env;
    const restartsLocally = !this.#env.isConnected() &&
      decideRestart(this.#a.spec.restartPolicy, "unhealthy", this.#restarts, clock.now()).restart;
    if (!restartsLocally) await this.#drain();
    let exit: ExitInfo | undefined;
    try {
      exit = await runtime.stop(this.id, this.#stopOptions());
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        // Still unhealthy and maybe running: the next step tries the stop again.
        this.#log.warn("stopping the unhealthy container failed; retrying", { err });
        await this.#backoff();
        return true;
      }
    }
    this.#retryMs = RETRY_MIN_MS;
    this.#unhealthy = undefined;
    return await this.#stopped("unhealthy", exit?.exitCode, error);
  }

  /**
   * A container stopped while its task was meant to run: it exited (`cause` is its exit code)
   * or the worker stopped it as unhealthy. Without a manager the restart policy applies here;
   * with one the task ends and the orchestrator decides.
   * @param unhealthyError the failed health check, when `cause` is `unhealthy`
   */
  async #stopped(
    cause: StopCause,
    exitCode: number | undefined,
    unhealthyError?: string,
  ): Promise<boolean> {
    this.#stopHealth();
    const code = exitCode !== undefined ? { exitCode } : {};
    if (isTerminal(this.desiredState)) {
      this.#move("shutdown", { message: "shut down", ...code });
      return true;
    }
    const what = cause === "unhealthy"
      ? (unhealthyError ?? "unhealthy")
      : cause === "lost"
      ? LOST
      : `exited with code ${cause}`;
    let why = "";
    if (!this.#env.isConnected()) {
      const { clock } = this.#env;
      const policy = this.#a.spec.restartPolicy;
      const d = decideRestart(policy, cause, this.#restarts, clock.now());
      if (d.restart) {
        this.#annotate({
          message:
            `${what}; no manager reachable: restarting locally in ${d.delayMs} ms (attempt ${d.attempt})`,
          ...code,
        });
        await sleep(clock, d.delayMs, this.#wakeCtl.signal);
        if (this.#detached || isTerminal(this.desiredState)) return true;
        if (!this.#env.isConnected()) {
          const after = cause === "unhealthy"
            ? "turning unhealthy"
            : cause === "lost"
            ? "losing its process"
            : `exit code ${cause}`;
          this.#restarts = pruneHistory(policy, [...this.#restarts, clock.now()], clock.now());
          return await this.#restartLocally({ after, previousCode: exitCode, attempt: d.attempt });
        }
        why = "; a manager is reachable again, which replaces the task";
      } else {
        why = `; not restarted locally: ${d.reason}`;
      }
    }
    if (cause === 0) {
      this.#move("complete", { message: `exited with code 0${why}`, exitCode: 0 });
    } else {
      const error = `${what}${why}`;
      this.#move("failed", { message: error, error, ...code });
    }
    return true;
  }

  /**
   * Replaces the stopped container with a new one under the same ID. A transient runtime
   * failure (containerd restarting) is retried after a backoff rather than failing the task:
   * the old container may be removed already, and runtime outages must end no task.
   */
  async #restartLocally(r: LocalRestart): Promise<boolean> {
    const { runtime } = this.#env;
    try {
      await runtime.remove(this.id);
      this.#drained = false; // a new container, in service again
      const st = await this.#createAndStart();
      this.#pendingRestart = undefined;
      this.#retryMs = RETRY_MIN_MS;
      this.#annotate({
        message: `restarted locally after ${r.after} (attempt ${r.attempt})`,
        // Reported with the task's status: the orchestrator counts them as attempts too.
        localRestarts: this.#restarts.length,
        ...(r.previousCode !== undefined ? { exitCode: r.previousCode } : {}),
        health: this.#a.spec.healthCheck ? "starting" : "none",
        ...(st.ip ? { ip: st.ip } : {}),
      });
      this.#startHealth(undefined);
    } catch (err) {
      if (isRetryable(err)) {
        // The same attempt (counted once in the history) is tried again by the next step.
        if (!this.#pendingRestart) {
          this.#annotate({ message: `local restart failed: ${message(err)}; retrying` });
        }
        this.#pendingRestart = r;
        this.#log.warn("restarting the container locally failed; retrying", { err });
        await this.#backoff();
        return true;
      }
      this.#pendingRestart = undefined;
      this.#fail(`local restart failed: ${message(err)}`, r.previousCode);
    }
    return true;
  }

  /**
   * Tries a local restart again that the runtime could not do. A manager reachable by now
   * decides instead, as for any exit while connected: the task ends, reported as it stopped.
   */
  async #retryRestart(r: LocalRestart): Promise<boolean> {
    if (!this.#env.isConnected()) return await this.#restartLocally(r);
    this.#pendingRestart = undefined;
    const error = `local restart after ${r.after} failed; a manager is reachable again, ` +
      "which replaces the task";
    if (r.previousCode === 0) {
      this.#move("complete", { message: error, exitCode: 0 });
    } else {
      const code = r.previousCode !== undefined ? { exitCode: r.previousCode } : {};
      this.#move("failed", { message: error, error, ...code });
    }
    return true;
  }

  // ---- health ------------------------------------------------------------------------------

  /** Starts the health check, if the spec has one; `prior` is a re-adopted task's health. */
  #startHealth(prior: TaskStatus["health"] | undefined): void {
    const check = this.#a.spec.healthCheck;
    if (!check || this.#detached) return;
    this.#stopHealth();
    const { clock, runtime, hooks } = this.#env;
    const now = clock.now();
    if (prior === "unhealthy") {
      // Recorded unhealthy but still running: the worker stopped before it could stop the
      // container. Finish that now rather than waiting for a change that would never come.
      const recorded = this.#status.message;
      this.#unhealthy = recorded.startsWith("unhealthy") ? recorded : "unhealthy";
      return;
    }
    let initial: HealthState = initialHealth(now);
    if (prior === "healthy") {
      // A re-adopted container keeps its health; its start period is long over.
      initial = { health: prior, failures: 0, startedAtMs: now - check.startPeriodMs };
    } else if (this.#status.health !== "starting") {
      this.#annotate({ health: "starting" });
    }
    const target: ProbeTarget = {
      runtime,
      containerId: this.id,
      host: this.#status.ip ?? "127.0.0.1",
    };
    const probe = hooks.probe?.(check, target) ?? makeProbe(check, target);
    this.#health = new HealthMonitor({
      check,
      probe,
      clock,
      initial,
      onChange: (health, st) => {
        if (isTerminal(this.#status.state) || this.#unhealthy !== undefined) return;
        if (health !== "unhealthy") {
          this.#annotate({ health });
          return;
        }
        // Report the health at once; the step loop then stops the container and fails the
        // task (the stop can take the whole grace period).
        const error = `unhealthy: ${st.lastError ?? "health check failed"}`;
        this.#annotate({ health, message: error });
        this.#unhealthy = error;
        this.#stopHealth();
        this.#wake();
      },
    });
    this.#health.start();
  }

  #stopHealth(): void {
    this.#health?.stop();
    this.#health = undefined;
  }

  // ---- wake-ups ----------------------------------------------------------------------------

  #wake(): void {
    this.#version++;
    const ctl = this.#wakeCtl;
    this.#wakeCtl = new AbortController();
    ctl.abort();
  }

  #nextWake(): Promise<void> {
    const signal = this.#wakeCtl.signal;
    return new Promise((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true })
    );
  }
}

const WOKEN = Symbol("woken");

/** Settles like `p`, or with {@link WOKEN} once `signal` aborts first (`p` is then left to run). */
function untilWoken<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof WOKEN> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.resolve(WOKEN);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {}); // a pull left behind may still fail; nobody waits for it
      resolve(WOKEN);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Whether a runtime call may succeed if tried again (e.g. containerd was restarting). */
function isRetryable(err: unknown): boolean {
  return err instanceof WarrenError && err.retryable;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

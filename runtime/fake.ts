/**
 * An in-memory {@link Runtime} for unit tests and scale simulation (a thousand simulated workers
 * in one process): no processes, no disk, no timers while nothing is scheduled. Time comes from
 * an injectable {@link Clock}; with a {@link ManualClock} every run is deterministic.
 *
 * What a container does is scripted by its image's {@link FakeBehavior}: print lines, exit after
 * N ms with code C, ignore SIGTERM, answer exec (health checks) its own way. Pulls can be made to
 * fail or to need credentials. It passes the same conformance suite as the containerd runtime.
 *
 * Never the default anywhere: a daemon must be handed one explicitly.
 */
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
  type WarrenError,
} from "../proto/errors.ts";
import { type Clock, systemClock } from "./fake_clock.ts";
import { type FakeContainerFs, type FakeFile, text } from "./_fake_fs.ts";
import { abortPromise, BoundedQueue, fakeDigest } from "./_fake_util.ts";
import { FakeProcess } from "./_fake_process.ts";
import {
  type ContainerConfig,
  type ContainerStats,
  type ContainerStatus,
  DEFAULT_STOP_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type ExitInfo,
  type ImageConfig,
  type ImageInfo,
  Labels,
  type ListFilter,
  type LogEntry,
  type LogsOptions,
  type Platform,
  type PullOptions,
  type RegistryAuth,
  type Runtime,
  type RuntimeEvent,
  type Signal,
  signalNumber,
  type StopOptions,
  validateContainerId,
  validateSecrets,
} from "./runtime.ts";

export { type Clock, ManualClock, systemClock } from "./fake_clock.ts";
export { PIPE_BYTES } from "./_fake_process.ts";

/** What a fake container does once started. */
export interface FakeBehavior {
  /** Lines printed at `atMs` after start (default 0), in order. */
  output?: { stream?: "stdout" | "stderr"; line: string; atMs?: number }[];
  /** Exit on its own after this long; runs until signalled when absent. */
  exitAfterMs?: number;
  /** Exit code when it exits on its own; default 0. */
  exitCode?: number;
  /** Signals it ignores, e.g. `[15]` for a PID 1 without a SIGTERM handler. SIGKILL never is. */
  ignoreSignals?: number[];
  /** Exit code after a handled signal; default 128 + signal. */
  exitCodeOnSignal?: (signal: number) => number;
  /** Reported memory use; default 4 MiB. */
  memoryBytes?: number;
  /** CPU consumed per second of running, ns; default 10 ms. */
  cpuNsPerSecond?: number;
  /** Answers exec before the busybox builtins; return undefined to fall through to them. */
  exec?: (cmd: readonly string[], fs: FakeContainerFs) => ExecResult | undefined;
  /** `start` fails with this message (e.g. a missing executable). */
  startError?: string;
}

/** A fake image in the fake "registry". */
export interface FakeImage {
  /** Reference it is pulled by, e.g. `fake.local/warren/exit:v1`. */
  ref: string;
  /** Platforms it is built for; more than one makes it a multi-arch index. Default amd64. */
  platforms?: Platform[];
  /** Pulling needs exactly these credentials. */
  credentials?: RegistryAuth;
  config?: Partial<ImageConfig>;
  /** Files of its rootfs. */
  files?: Record<string, string>;
  sizeBytes?: number;
  /** Every pull fails with this error (e.g. an UnavailableError). */
  pullError?: WarrenError;
  /** A pull takes this long on the runtime's clock. */
  pullDelayMs?: number;
  /** Behaviour, fixed or computed from the container's final args and env. */
  behavior?: FakeBehavior | ((ctx: { args: string[]; env: Map<string, string> }) => FakeBehavior);
}

/** Options of {@link FakeRuntime}. */
export interface FakeRuntimeOptions {
  clock?: Clock;
  /** The node's platform; default linux/amd64. */
  platform?: Platform;
  images?: FakeImage[];
  /** The "host" file system volumes live in; share one map between runtimes of one node. */
  hostFs?: Map<string, FakeFile>;
  /** Bound of each event subscriber's queue; default 1024. */
  eventQueueMax?: number;
}

const AMD64: Platform = { os: "linux", architecture: "amd64" };

/** The in-memory runtime. See the module doc. */
export class FakeRuntime implements Runtime {
  readonly name = "fake";
  readonly clock: Clock;
  readonly platform: Platform;
  readonly hostFs: Map<string, FakeFile>;
  readonly #images = new Map<string, FakeImage>();
  readonly #pulled = new Map<string, { info: ImageInfo; image: FakeImage }>();
  readonly #containers = new Map<string, FakeProcess>();
  readonly #subscribers = new Set<BoundedQueue<RuntimeEvent>>();
  readonly #eventQueueMax: number;
  #nextPid = 1000;
  /**
   * Count of calls per method, for tests and the simulator's metrics; `registry` counts the
   * pulls that reached the (fake) registry rather than being answered locally (`ifMissing`).
   */
  readonly calls = new Map<string, number>();

  constructor(options: FakeRuntimeOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.platform = options.platform ?? AMD64;
    this.hostFs = options.hostFs ?? new Map();
    this.#eventQueueMax = options.eventQueueMax ?? 1024;
    for (const img of options.images ?? []) this.addImage(img);
  }

  /** Adds or replaces an image in the fake registry. */
  addImage(image: FakeImage): void {
    this.#images.set(image.ref, image);
  }

  /** True while the host still holds secrets of container `id` (false after remove). */
  hostHasSecrets(id: string): boolean {
    return (this.#containers.get(id)?.secrets.size ?? 0) > 0;
  }

  #count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  #get(id: string): FakeProcess {
    const c = this.#containers.get(id);
    if (!c) throw new NotFoundError("container", id);
    return c;
  }

  #emit(event: RuntimeEvent): void {
    for (const q of this.#subscribers) q.push(event);
  }

  async pull(ref: string, options: PullOptions = {}): Promise<ImageInfo> {
    this.#count("pull");
    const platform = options.platform ?? this.platform;
    const local = this.#pulled.get(ref);
    if (options.ifMissing && local && local.info.platform.architecture === platform.architecture) {
      return local.info;
    }
    this.#count("registry");
    const image = this.#images.get(ref);
    if (!image) throw new NotFoundError("image", ref);
    if (image.pullDelayMs) {
      await new Promise<void>((r) => this.clock.setTimeout(r, image.pullDelayMs!));
    }
    if (image.pullError) throw image.pullError;
    if (image.credentials) {
      const c = options.credentials;
      if (!c) throw new UnauthenticatedError(`registry of "${ref}" requires credentials`);
      if (c.username !== image.credentials.username || c.password !== image.credentials.password) {
        throw new UnauthenticatedError(
          `registry of "${ref}" rejected the credentials of "${c.username}"`,
        );
      }
    }
    const platforms = image.platforms ?? [AMD64];
    if (!platforms.some((p) => p.architecture === platform.architecture)) {
      throw new FailedPreconditionError(
        `image "${ref}" has no manifest for ${platform.os}/${platform.architecture}`,
      );
    }
    const digest = fakeDigest(`${ref}|${platforms.map((p) => p.architecture).join(",")}`);
    const manifestDigest = platforms.length > 1
      ? fakeDigest(`${ref}|${platform.architecture}`)
      : digest;
    options.onProgress?.({ kind: "resolved", digest });
    options.onProgress?.({ kind: "done", digest });
    const info: ImageInfo = {
      ref,
      digest,
      manifestDigest,
      platform,
      sizeBytes: image.sizeBytes ?? 1024 * 1024,
      config: {
        entrypoint: [],
        cmd: [],
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        workingDir: "/",
        user: "",
        exposedPorts: [],
        labels: {},
        ...image.config,
      },
    };
    this.#pulled.set(ref, { info, image });
    return info;
  }

  prepare(config: ContainerConfig): Promise<string> {
    return settle(() => {
      this.#count("prepare");
      validateContainerId(config.taskId);
      validateSecrets(config.secrets ?? []);
      if (config.memoryBytesMax !== undefined && !(config.memoryBytesMax >= 4 * 1024 * 1024)) {
        throw new ValidationError("memoryBytesMax", `${config.memoryBytesMax} is below 4 MiB`);
      }
      for (const [i, m] of (config.mounts ?? []).entries()) {
        if (!m.destination.startsWith("/") || (m.type !== "tmpfs" && !m.source.startsWith("/"))) {
          throw new ValidationError(`mounts[${i}]`, "source and destination must be absolute");
        }
      }
      const pulled = this.#pulled.get(config.image);
      if (!pulled) throw new NotFoundError("image", config.image);
      if (this.#containers.has(config.taskId)) {
        throw new AlreadyExistsError("container", config.taskId);
      }
      const proc = new FakeProcess({
        config,
        image: pulled.info,
        fakeImage: pulled.image,
        clock: this.clock,
        hostFs: this.hostFs,
        emit: (e) => this.#emit(e),
      });
      if (proc.args.length === 0) {
        throw new ValidationError("command", "neither the task nor the image defines a command");
      }
      this.#containers.set(config.taskId, proc);
      return config.taskId;
    });
  }

  start(id: string): Promise<number> {
    return settle(() => {
      this.#count("start");
      const c = this.#get(id);
      if (c.state !== "created") {
        throw new FailedPreconditionError(`container "${id}" was started already`);
      }
      return c.start(this.#nextPid++);
    });
  }

  async wait(id: string, signal?: AbortSignal): Promise<ExitInfo> {
    this.#count("wait");
    const c = this.#get(id);
    if (c.state === "created") {
      throw new FailedPreconditionError(`container "${id}" has not been started`);
    }
    const aborted = abortPromise(signal);
    try {
      const r = await Promise.race([c.exited, aborted.promise.then(() => undefined)]);
      if (!r) throw signal!.reason;
      return r;
    } finally {
      aborted.dispose();
    }
  }

  async stop(id: string, options: StopOptions = {}): Promise<ExitInfo | undefined> {
    this.#count("stop");
    const c = this.#get(id);
    if (c.state === "created") return undefined;
    if (c.state === "stopped") return c.exitInfo();
    c.signal(signalNumber(options.signal ?? c.stopSignal));
    if (c.state === "running") {
      let timer: unknown;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = this.clock.setTimeout(
          () => resolve("timeout"),
          options.gracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
        );
      });
      const first = await Promise.race([c.exited, timeout]);
      this.clock.clearTimeout(timer);
      if (first === "timeout" && c.state === "running") c.signal(9);
    }
    return await c.exited;
  }

  kill(id: string, signal: Signal): Promise<void> {
    return settle(() => {
      this.#count("kill");
      const c = this.#get(id);
      const n = signalNumber(signal);
      if (c.state !== "running") {
        throw new FailedPreconditionError(`container "${id}" is not running`);
      }
      c.signal(n);
      return;
    });
  }

  remove(id: string): Promise<void> {
    return settle(() => {
      this.#count("remove");
      const c = this.#containers.get(id);
      if (!c) return;
      c.destroy();
      this.#containers.delete(id);
      return;
    });
  }

  list(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    return settle(() => {
      this.#count("list");
      const want = Object.entries(filter.labels ?? {});
      const out: ContainerStatus[] = [];
      for (const c of this.#containers.values()) {
        const st = c.status();
        if (!(Labels.taskId in st.labels)) continue;
        if (want.every(([k, v]) => st.labels[k] === v)) out.push(st);
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  inspect(id: string): Promise<ContainerStatus> {
    return settle(() => {
      this.#count("inspect");
      return this.#get(id).status();
    });
  }

  async *logs(id: string, options: LogsOptions = {}): AsyncGenerator<LogEntry> {
    this.#count("logs");
    const c = this.#get(id);
    const since = options.since?.getTime();
    let entries = c.logs.filter((e) => since === undefined || e.ts.getTime() >= since);
    if (options.tail !== undefined) entries = options.tail > 0 ? entries.slice(-options.tail) : [];
    let next = entries.length > 0 ? c.logs.indexOf(entries[0]) : c.logs.length;
    const aborted = abortPromise(options.signal);
    try {
      for (;;) {
        while (next < c.logs.length) {
          const e = c.logs[next++];
          if (since === undefined || e.ts.getTime() >= since) yield e;
        }
        if (!options.follow || c.state === "stopped" || c.removed || options.signal?.aborted) {
          return;
        }
        const dropped = c.logsDropped;
        await Promise.race([c.changed.next(), aborted.promise]);
        next = Math.max(0, next - (c.logsDropped - dropped)); // rotation dropped old lines
      }
    } finally {
      aborted.dispose();
    }
  }

  exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return settle(() => {
      this.#count("exec");
      const c = this.#get(id);
      if (c.state !== "running") {
        throw new FailedPreconditionError(`container "${id}" is not running`);
      }
      const stdin = typeof options.stdin === "string"
        ? text.enc(options.stdin)
        : options.stdin ?? new Uint8Array();
      const r = c.exec(options.cmd, stdin);
      if (options.tty) {
        return { exitCode: r.exitCode, stdout: r.stdout + r.stderr, stderr: "" };
      }
      return r;
    });
  }

  execStream(id: string, options: ExecOptions): Promise<ExecSession> {
    return settle(() => {
      this.#count("execStream");
      const c = this.#get(id);
      if (c.state !== "running") {
        throw new FailedPreconditionError(`container "${id}" is not running`);
      }
      return c.execStream(options);
    });
  }

  stats(id: string): Promise<ContainerStats> {
    return settle(() => {
      this.#count("stats");
      const c = this.#get(id);
      if (c.state !== "running") {
        throw new FailedPreconditionError(`container "${id}" is not running`);
      }
      return c.stats();
    });
  }

  async *events(signal?: AbortSignal): AsyncGenerator<RuntimeEvent> {
    const q = new BoundedQueue<RuntimeEvent>(this.#eventQueueMax);
    this.#subscribers.add(q);
    try {
      yield* q.drain(signal);
    } finally {
      this.#subscribers.delete(q);
    }
  }

  close(): Promise<void> {
    for (const q of this.#subscribers) q.close();
    return Promise.resolve();
  }
}

/** Runs `fn` and turns a throw into a rejected promise, as an async method would. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

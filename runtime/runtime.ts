/**
 * The container runtime as the worker sees it: a small interface with two implementations that
 * pass one conformance suite (runtime/conformance.ts):
 *
 * - `runtime/containerd/runtime.ts` — the real one, over containerd 1.6 + runc;
 * - `runtime/fake.ts` — in memory, for unit tests and scale simulation (never a default).
 *
 * ```
 * pull ─▶ prepare ─▶ start ─▶ wait / stop / kill ─▶ remove
 *                      │
 *                      ├─ logs, exec, execStream, stats, inspect
 *                      └─ events (start, exit, oom, delete) for every owned container
 * ```
 *
 * Containers carry the labels of {@link ContainerConfig.labels} plus {@link Labels.taskId}, so a
 * restarted worker finds and re-adopts the containers it owns with {@link Runtime.list}.
 *
 * Errors are Warren's typed errors: an unknown container ID is a `NotFoundError`, a bad config a
 * `ValidationError`, a registry refusing credentials an `UnauthenticatedError`.
 */
import { ValidationError } from "../proto/errors.ts";
import { MAX_SIGNAL, signalNumberOf } from "../proto/schema/signal.ts";

/** Label keys Warren puts on the containers it owns. */
export const Labels = {
  /** The Warren task the container runs; present on every Warren container. */
  taskId: "warren.task.id",
  /** The service the task belongs to, when it belongs to one. */
  serviceId: "warren.service.id",
  /** The node that created the container. */
  nodeId: "warren.node.id",
} as const;

/** An OCI platform a node runs. */
export interface Platform {
  os: "linux";
  architecture: "amd64" | "arm64";
}

/** User name and password (or token) for a registry. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** One step of a pull, for progress display. */
export type PullProgressEvent =
  | { kind: "resolved"; digest: string }
  | { kind: "layer"; digest: string; bytesDone: number; bytesTotal: number; cached: boolean }
  | { kind: "unpacked"; index: number; layers: number }
  | { kind: "done"; digest: string };

/** Options of {@link Runtime.pull}. */
export interface PullOptions {
  /** Platform to pick from a multi-arch index; the node's own by default. */
  platform?: Platform;
  credentials?: RegistryAuth;
  onProgress?: (event: PullProgressEvent) => void;
  /**
   * When the reference is already pulled and unpacked for the platform, answer from the local
   * image store without contacting the registry (Kubernetes' `IfNotPresent`). Always right for a
   * digest reference; for a tag it gives what the tag pointed at when it was last pulled.
   */
  ifMissing?: boolean;
}

/** The runtime defaults an image carries. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  /** e.g. `["80/tcp"]`. */
  exposedPorts: string[];
  labels: Record<string, string>;
  stopSignal?: string;
}

/** A pulled image. */
export interface ImageInfo {
  /** Canonical reference, e.g. `127.0.0.1:5000/warren/http:v1`. */
  ref: string;
  /** Digest the reference resolved to (an index or a manifest). */
  digest: string;
  /** Digest of the platform-specific manifest. */
  manifestDigest: string;
  platform: Platform;
  /** Compressed size of the layers. */
  sizeBytes: number;
  config: ImageConfig;
}

/** How the container is networked. Default `none`: an empty network namespace of its own. */
export type NetworkMode =
  | { mode: "none" }
  | { mode: "host" }
  | { mode: "netns"; path: string };

/** A host directory bind-mounted into the container (a volume). */
export interface BindVolumeMount {
  type?: "bind";
  /** Absolute host path; must exist. */
  source: string;
  /** Absolute path inside the container. */
  destination: string;
  readonly?: boolean;
}

/**
 * A new, empty in-memory file system (tmpfs, mode 1777, nosuid, nodev) at `destination`; its
 * contents go with the container.
 */
export interface TmpfsVolumeMount {
  type: "tmpfs";
  /** Absolute path inside the container. */
  destination: string;
  readonly?: boolean;
}

/** A mount of a container besides its rootfs: a host directory or a tmpfs. */
export type VolumeMount = BindVolumeMount | TmpfsVolumeMount;

/**
 * A secret file, visible at `/run/secrets/<name>` while the container runs. Secrets live only in
 * memory (a tmpfs); they never touch a disk and are gone from the host after {@link Runtime.remove}.
 */
export interface SecretFile {
  /** File name: `[A-Za-z0-9._-]`, not `.` or `..`. */
  name: string;
  data: Uint8Array;
  /** File mode; default 0o400. */
  mode?: number;
  /** Owner inside the container; default the container's user (uid and primary gid). */
  uid?: number;
  gid?: number;
}

/** Where the container's output goes and how much of it is kept. */
export interface LogConfig {
  /** Log file on the host; the runtime picks one under its data dir when absent. */
  path?: string;
  /** Rotate when the current file reaches this size; default 10 MiB. */
  maxFileBytes?: number;
  /** Files kept including the current one; default 2. */
  maxFiles?: number;
}

/** Everything {@link Runtime.prepare} needs to create a container. */
export interface ContainerConfig {
  /** Warren task ID; also the container ID. `[A-Za-z0-9]` runs joined by `.`, `_` or `-`. */
  taskId: string;
  /** Image reference, pulled before with {@link Runtime.pull}. */
  image: string;
  /** Replaces the image entrypoint (and drops the image cmd, as Docker does). */
  entrypoint?: string[];
  /** Replaces the image cmd (the arguments). */
  command?: string[];
  /** `KEY=value` entries, added to and overriding the image's. */
  env?: string[];
  cwd?: string;
  /**
   * `user[:group]`, each a name (looked up in the image's /etc/passwd and /etc/group) or a
   * number; default the image's user, else root.
   */
  user?: string;
  hostname?: string;
  /** Labels on the container; {@link Labels.taskId} is added. */
  labels?: Record<string, string>;
  /** CPU limit in CPUs, e.g. 0.5. */
  cpus?: number;
  memoryBytesMax?: number;
  mounts?: VolumeMount[];
  secrets?: SecretFile[];
  network?: NetworkMode;
  readonlyRootfs?: boolean;
  /** Signal {@link Runtime.stop} sends first; default the image's StopSignal, else SIGTERM. */
  stopSignal?: Signal;
  log?: LogConfig;
  capAdd?: string[];
  capDrop?: string[];
}

/** A signal by number (15) or name (`SIGTERM` or `TERM`). */
export type Signal = number | string;

/** How the main process ended. */
export interface ExitInfo {
  /** Exit code; 128 + signal number when a signal killed it. */
  exitCode: number;
  exitedAt: Date;
}

/** Options of {@link Runtime.stop}. */
export interface StopOptions {
  /** First signal; default the container's stop signal. */
  signal?: Signal;
  /** Time between the first signal and SIGKILL to every process; default 10 s. */
  gracePeriodMs?: number;
}

/** Lifecycle state of a container. */
export type ContainerState = "created" | "running" | "stopped";

/** What {@link Runtime.inspect} and {@link Runtime.list} report. */
export interface ContainerStatus {
  id: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  /** Host PID of the main process while running. */
  pid?: number;
  /** Set once stopped. */
  exitCode?: number;
  exitedAt?: Date;
}

/** Filter of {@link Runtime.list}: every given label must match exactly. */
export interface ListFilter {
  labels?: Record<string, string>;
}

/** One line of container output. */
export interface LogEntry {
  stream: "stdout" | "stderr";
  /** The line without its newline. */
  line: string;
  /** When the runtime read it from the container. */
  ts: Date;
}

/** Options of {@link Runtime.logs}. */
export interface LogsOptions {
  /** Keep reading new lines until the container has exited (or `signal` aborts). */
  follow?: boolean;
  /** Start with the last `tail` lines only. */
  tail?: number;
  /** Only lines at or after this time. */
  since?: Date;
  /** Ends the iteration early (without an error). */
  signal?: AbortSignal;
}

/** Options of {@link Runtime.exec} and {@link Runtime.execStream}. */
export interface ExecOptions {
  cmd: string[];
  /** Allocate a terminal: stdout and stderr become one stream (stdout). */
  tty?: boolean;
  /** Data written to the process's stdin, then closed (for {@link Runtime.exec}). */
  stdin?: Uint8Array | string;
  /** `KEY=value`, added to the container's env. */
  env?: string[];
  cwd?: string;
  /** `user[:group]` as in {@link ContainerConfig.user}; default the container's. */
  user?: string;
  /** Terminal size the process starts with (tty only); later changes go through resize. */
  size?: { cols: number; rows: number };
}

/** Result of a finished {@link Runtime.exec}. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An interactive exec process. */
export interface ExecSession {
  /** Closing it closes the process's stdin. */
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  /** Empty when `tty` is set. */
  stderr: ReadableStream<Uint8Array>;
  /** Resolves with the exit code once the process has exited; read stdout/stderr to their end. */
  exited: Promise<number>;
  kill(signal?: Signal): Promise<void>;
  /** Resizes the terminal (tty only). */
  resize(cols: number, rows: number): Promise<void>;
}

/** Resource usage of a running container. */
export interface ContainerStats {
  /** Total CPU time consumed, nanoseconds. */
  cpuUsageNs: number;
  /** Memory in use (cgroup usage), bytes. */
  memoryBytes: number;
  /** The cgroup memory limit, when one is set. */
  memoryLimitBytes?: number;
  pids?: number;
  at: Date;
}

/** A lifecycle event of a container. */
export interface RuntimeEvent {
  type: "start" | "exit" | "oom" | "delete";
  /** Container ID. */
  id: string;
  pid?: number;
  /** For `exit` (and `delete` after an exit). */
  exitCode?: number;
  at: Date;
}

/** The container runtime. See the module doc. */
export interface Runtime {
  /** Short name for logs and metrics, e.g. `containerd` or `fake`. */
  readonly name: string;
  /** Pulls (or refreshes) an image; a multi-arch index resolves to `platform`. */
  pull(ref: string, options?: PullOptions): Promise<ImageInfo>;
  /** Creates the container (not started). @returns the container ID (= task ID). */
  prepare(config: ContainerConfig): Promise<string>;
  /** Starts the main process. @returns its host PID. */
  start(id: string): Promise<number>;
  /** Resolves when the main process has exited (at once if it has already). */
  wait(id: string, signal?: AbortSignal): Promise<ExitInfo>;
  /**
   * Sends the stop signal, waits up to the grace period, then SIGKILLs every process.
   * @returns how it exited, or undefined when it was never started.
   */
  stop(id: string, options?: StopOptions): Promise<ExitInfo | undefined>;
  /** Sends a signal to the main process. */
  kill(id: string, signal: Signal): Promise<void>;
  /** Kills (if needed) and deletes the container, its rootfs and its secrets. Idempotent. */
  remove(id: string): Promise<void>;
  /** Warren's containers (those with a {@link Labels.taskId} label). */
  list(filter?: ListFilter): Promise<ContainerStatus[]>;
  inspect(id: string): Promise<ContainerStatus>;
  /** The container's output; with `follow`, ends once the container has exited. */
  logs(id: string, options?: LogsOptions): AsyncIterable<LogEntry>;
  /** Runs a command in the running container and collects its output. */
  exec(id: string, options: ExecOptions): Promise<ExecResult>;
  /** Runs a command in the running container with streaming I/O. */
  execStream(id: string, options: ExecOptions): Promise<ExecSession>;
  stats(id: string): Promise<ContainerStats>;
  /** Lifecycle events of Warren's containers until `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent>;
  /** Releases connections; containers keep running. */
  close(): Promise<void>;
}

/**
 * Signal number of `SIGTERM`, `TERM`, `15` or 15, from the one signal table in proto (the spec
 * is validated against the same table). @throws ValidationError for unknown names and numbers
 */
export function signalNumber(signal: Signal, field = "signal"): number {
  const n = signalNumberOf(signal);
  if (n !== undefined) return n;
  throw new ValidationError(
    field,
    typeof signal === "number" || /^\s*\d+\s*$/.test(signal)
      ? `${signal} is not a signal number (1-${MAX_SIGNAL})`
      : `unknown signal "${signal}"`,
  );
}

const ID_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** Checks a container (task) ID. @throws ValidationError */
export function validateContainerId(id: string, field = "taskId"): void {
  if (id.length === 0 || id.length > 76 || !ID_RE.test(id)) {
    throw new ValidationError(
      field,
      `"${id}" must be 1-76 characters: letters and digits, joined by single ".", "_" or "-"`,
    );
  }
}

const SECRET_NAME_RE = /^[A-Za-z0-9._-]{1,255}$/;

/** Checks secret file names: unique, `[A-Za-z0-9._-]`, not `.` or `..`. @throws ValidationError */
export function validateSecrets(secrets: readonly SecretFile[]): void {
  const seen = new Set<string>();
  for (const [i, s] of secrets.entries()) {
    if (!SECRET_NAME_RE.test(s.name) || s.name === "." || s.name === "..") {
      throw new ValidationError(`secrets[${i}].name`, `"${s.name}" is not a valid file name`);
    }
    if (seen.has(s.name)) {
      throw new ValidationError(`secrets[${i}].name`, `"${s.name}" is given twice`);
    }
    seen.add(s.name);
  }
}

/** Default log rotation: keep 2 files of 10 MiB. */
export const DEFAULT_LOG_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Default number of log files kept. */
export const DEFAULT_LOG_MAX_FILES = 2;
/** Default time between the stop signal and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/**
 * The containerd implementation of Warren's {@link Runtime}, over the building blocks in this
 * folder. Everything lives in one containerd namespace (`warren` by default); containers carry
 * Warren's labels, so a restarted worker re-adopts them with `list()`.
 *
 * Per container, under the data dir:
 * ```
 * <dataDir>/logs/<id>/container.log[.N]   written by the log driver (log_driver.ts)
 * <dataDir>/secrets/<id>/                 a tmpfs, bind-mounted read-only at /run/secrets
 * <dataDir>/exec/<execId>/                fifos of running exec processes
 * <dataDir>/bin/warren-log-driver         the log driver program
 * ```
 * Where a container's log lives and how it rotates is recorded in its labels, so it does not
 * depend on this process's memory.
 */
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../proto/errors.ts";
import {
  type ContainerConfig,
  type ContainerStats,
  type ContainerStatus,
  DEFAULT_LOG_MAX_FILE_BYTES,
  DEFAULT_LOG_MAX_FILES,
  DEFAULT_STOP_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type ExitInfo,
  type ImageInfo,
  Labels,
  type ListFilter,
  type LogEntry,
  type LogsOptions,
  type Platform,
  type PullOptions,
  type Runtime,
  type RuntimeEvent,
  type Signal,
  signalNumber,
  type StopOptions,
  validateContainerId,
  validateSecrets,
} from "../runtime.ts";
import { ContainerdClient, isContainerdCode } from "./client.ts";
import { createContainer, removeContainer, startTask, stopTask, waitTask } from "./container.ts";
import { subscribeEvents } from "./events.ts";
import { runExec, startExec } from "./exec.ts";
import { type LocalImage, LocalImageCache, resolveLocalImage } from "./images.ts";
import { installLogDriver, logDriverUri } from "./log_driver.ts";
import { readLogs } from "../log_reader.ts";
import { hostPlatform } from "./oci.ts";
import { pullImage } from "./pull.ts";
import { mountSecrets, SECRETS_DESTINATION, unmountSecrets } from "./secrets.ts";
import { buildSpec } from "./spec.ts";
import { type EtcFiles, type ProcessUser, resolveUser } from "./user.ts";
import { readImageEtc } from "./rootfs_etc.ts";
import { taskStats } from "./stats.ts";
import { DEFAULT_SNAPSHOTTER } from "./unpack.ts";
import {
  type Process,
  Status,
} from "./gen/github.com/containerd/containerd/api/types/task/task.ts";
import type { Container } from "./gen/github.com/containerd/containerd/api/services/containers/v1/containers.ts";
import { parseReference } from "./reference.ts";
import { localImageInfo, toImageInfo } from "./_image_info.ts";

/** Labels the runtime keeps its own per-container settings in. */
export const RuntimeLabels = {
  logPath: "warren.runtime.log-path",
  logMaxFileBytes: "warren.runtime.log-max-file-bytes",
  logMaxFiles: "warren.runtime.log-max-files",
  stopSignal: "warren.runtime.stop-signal",
} as const;

/** Images whose /etc/passwd and /etc/group are kept (they never change for a chain ID). */
const ETC_CACHE_MAX = 64;

/** Options of {@link ContainerdRuntime}. */
export interface ContainerdRuntimeOptions {
  /** containerd's gRPC socket. */
  socket: string;
  /** Where logs, secrets mounts, exec fifos and the log driver live. */
  dataDir: string;
  /** containerd namespace; default `warren`. */
  namespace?: string;
  /** runc state directory; runc's default when absent. */
  runcRoot?: string;
  /** Parent cgroup of the containers; default `/warren`. */
  cgroupParent?: string;
  snapshotter?: string;
  /** The node's platform; default the host's. */
  platform?: Platform;
  /** Registries reachable over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
}

/** Warren's runtime over containerd. See the module doc. */
export class ContainerdRuntime implements Runtime {
  readonly name = "containerd";
  readonly client: ContainerdClient;
  readonly #opts: ContainerdRuntimeOptions;
  readonly #platform: Platform;
  readonly #snapshotter: string;
  readonly #images = new LocalImageCache();
  readonly #etc = new Map<string, Promise<EtcFiles>>();
  #driver?: Promise<string>;

  constructor(options: ContainerdRuntimeOptions) {
    this.#opts = options;
    this.client = new ContainerdClient({ socket: options.socket, namespace: options.namespace });
    this.#platform = options.platform ?? hostPlatform();
    this.#snapshotter = options.snapshotter ?? DEFAULT_SNAPSHOTTER;
  }

  /** Host directory holding container `id`'s secrets while it exists (a tmpfs mount). */
  secretsDir(id: string): string {
    return `${this.#opts.dataDir}/secrets/${id}`;
  }

  #defaultLogPath(id: string): string {
    return `${this.#opts.dataDir}/logs/${id}/container.log`;
  }

  /** Turns containerd's not_found into NotFoundError, or FailedPrecondition if the record exists. */
  async #mapError(id: string, err: unknown, whenExists: string): Promise<never> {
    if ((err as { code?: string })?.code !== "not_found") throw err;
    const exists = await this.client.containers.get({ id }).then(() => true, () => false);
    if (exists) {
      throw new FailedPreconditionError(`container "${id}" ${whenExists}`, { cause: err });
    }
    throw new NotFoundError("container", id, { cause: err });
  }

  async #labels(id: string): Promise<Record<string, string>> {
    return (await this.#container(id)).labels;
  }

  async #container(id: string): Promise<Container> {
    try {
      const { container } = await this.client.containers.get({ id });
      if (!container) throw new NotFoundError("container", id);
      return container;
    } catch (err) {
      if (isContainerdCode(err, "not_found")) throw new NotFoundError("container", id);
      throw err;
    }
  }

  /** An image's /etc/passwd and /etc/group, read once per unpacked image (its top chain ID). */
  #imageEtc(snapshotter: string, chainId: string): Promise<EtcFiles> {
    const key = `${snapshotter} ${chainId}`;
    let p = this.#etc.get(key);
    if (!p) {
      p = readImageEtc(this.client, snapshotter, chainId);
      this.#etc.set(key, p);
      p.catch(() => this.#etc.delete(key));
      if (this.#etc.size > ETC_CACHE_MAX) this.#etc.delete(this.#etc.keys().next().value!);
    }
    return p;
  }

  /** Resolves `user` (default the image's `User`) against the image's passwd and group files. */
  async #resolveUser(image: LocalImage, ref: string, user?: string): Promise<ProcessUser> {
    let etc: EtcFiles;
    try {
      etc = await this.#imageEtc(image.snapshotter, image.chainId);
    } catch (err) {
      // The image's unpacked layers may have been removed behind our back: look again next time.
      if (isContainerdCode(err, "not_found")) this.#images.forget(image.digest);
      throw err;
    }
    return resolveUser(user ?? image.config.config?.User ?? "", etc, ref);
  }

  async pull(ref: string, options: PullOptions = {}): Promise<ImageInfo> {
    const platform = options.platform ?? this.#platform;
    if (options.ifMissing) {
      try {
        const local = await resolveLocalImage(this.client, parseReference(ref).name, {
          platform,
          snapshotter: this.#snapshotter,
          cache: this.#images,
        });
        return localImageInfo(local, platform);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    const image = await pullImage(this.client, ref, {
      platform,
      snapshotter: this.#snapshotter,
      insecureRegistries: this.#opts.insecureRegistries,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      onProgress: options.onProgress
        ? (p) => {
          const emit = options.onProgress!;
          if (p.phase === "resolved") emit({ kind: "resolved", digest: p.digest });
          else if (p.phase === "layer") emit({ kind: "layer", ...p });
          else if (p.phase === "unpacked") {
            emit({ kind: "unpacked", index: p.index, layers: p.layers });
          } else emit({ kind: "done", digest: p.image.target.digest });
        }
        : undefined,
    });
    return toImageInfo(image);
  }

  async prepare(config: ContainerConfig): Promise<string> {
    const id = config.taskId;
    validateContainerId(id);
    validateSecrets(config.secrets ?? []);
    const image = await resolveLocalImage(this.client, config.image, {
      platform: this.#platform,
      snapshotter: this.#snapshotter,
      cache: this.#images,
    });
    const user = await this.#resolveUser(image, config.image, config.user);
    const secretsDir = this.secretsDir(id);
    const withSecrets = (config.secrets?.length ?? 0) > 0;
    // Secrets are mounted at a path named by the ID: refuse a duplicate before touching it.
    // Without secrets, creating the rootfs snapshot (keyed by the ID) fails the same way, and a
    // new container saves a Containers/Get that answers not_found.
    if (withSecrets && await this.client.containers.get({ id }).then(() => true, () => false)) {
      throw new AlreadyExistsError("container", id);
    }
    const mounts = [...(config.mounts ?? [])];
    if (withSecrets) {
      // Owned by the container's user unless a secret says otherwise, so it can read them.
      await mountSecrets(secretsDir, config.secrets!, { uid: user.uid, gid: user.gid });
      mounts.push({ source: secretsDir, destination: SECRETS_DESTINATION, readonly: true });
    }
    try {
      const spec = buildSpec({
        id,
        image: image.config,
        entrypoint: config.entrypoint,
        command: config.command,
        env: config.env,
        cwd: config.cwd,
        user,
        hostname: config.hostname,
        readonlyRootfs: config.readonlyRootfs,
        network: config.network,
        mounts,
        cpus: config.cpus,
        memoryBytesMax: config.memoryBytesMax,
        capAdd: config.capAdd,
        capDrop: config.capDrop,
        cgroupParent: this.#opts.cgroupParent,
      });
      const stopSignal = config.stopSignal ?? image.config.config?.StopSignal ?? "SIGTERM";
      signalNumber(stopSignal, "stopSignal");
      await createContainer(this.client, {
        id,
        image: { name: image.name, chainId: image.chainId, snapshotter: image.snapshotter },
        spec,
        runcRoot: this.#opts.runcRoot,
        labels: {
          ...config.labels,
          [Labels.taskId]: id,
          [RuntimeLabels.logPath]: config.log?.path ?? this.#defaultLogPath(id),
          [RuntimeLabels.logMaxFileBytes]: String(
            config.log?.maxFileBytes ?? DEFAULT_LOG_MAX_FILE_BYTES,
          ),
          [RuntimeLabels.logMaxFiles]: String(config.log?.maxFiles ?? DEFAULT_LOG_MAX_FILES),
          [RuntimeLabels.stopSignal]: String(stopSignal),
        },
      });
    } catch (err) {
      if (withSecrets) await unmountSecrets(secretsDir).catch(() => {});
      // The image's unpacked layers may have been removed behind our back: look again next time.
      if (isContainerdCode(err, "not_found")) this.#images.forget(image.digest);
      if (isContainerdCode(err, "already_exists")) throw new AlreadyExistsError("container", id);
      throw err;
    }
    return id;
  }

  #logTarget(labels: Record<string, string>, id: string) {
    return {
      path: labels[RuntimeLabels.logPath] ?? this.#defaultLogPath(id),
      maxFileBytes: Number(labels[RuntimeLabels.logMaxFileBytes] ?? DEFAULT_LOG_MAX_FILE_BYTES),
      maxFiles: Number(labels[RuntimeLabels.logMaxFiles] ?? DEFAULT_LOG_MAX_FILES),
    };
  }

  async start(id: string): Promise<number> {
    const container = await this.#container(id);
    const target = this.#logTarget(container.labels, id);
    this.#driver ??= installLogDriver(`${this.#opts.dataDir}/bin`);
    const driver = await this.#driver;
    await Deno.mkdir(target.path.slice(0, target.path.lastIndexOf("/")), { recursive: true });
    try {
      return await startTask(this.client, id, { logUri: logDriverUri(driver, target) }, container);
    } catch (err) {
      if (isContainerdCode(err, "already_exists")) {
        throw new FailedPreconditionError(`container "${id}" was started already`, { cause: err });
      }
      throw err;
    }
  }

  async wait(id: string, signal?: AbortSignal): Promise<ExitInfo> {
    try {
      const r = await waitTask(this.client, id, { signal });
      return { exitCode: r.exitCode, exitedAt: r.exitedAt ?? new Date() };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      return await this.#mapError(id, err, "has not been started");
    }
  }

  async stop(id: string, options: StopOptions = {}): Promise<ExitInfo | undefined> {
    const labels = await this.#labels(id);
    const signal = signalNumber(options.signal ?? labels[RuntimeLabels.stopSignal] ?? "SIGTERM");
    const r = await stopTask(this.client, id, {
      signal,
      gracePeriodMs: options.gracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
    });
    return r && { exitCode: r.exitCode, exitedAt: r.exitedAt ?? new Date() };
  }

  async kill(id: string, signal: Signal): Promise<void> {
    const n = signalNumber(signal);
    try {
      await this.client.tasks.kill({ containerId: id, execId: "", signal: n, all: false });
    } catch (err) {
      await this.#mapError(id, err, "is not running");
    }
  }

  async remove(id: string): Promise<void> {
    const labels = await this.#labels(id).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    await removeContainer(this.client, id);
    await unmountSecrets(this.secretsDir(id));
    // Logs at the default place go with the container; a path the caller chose is theirs.
    if (!labels || labels[RuntimeLabels.logPath] === this.#defaultLogPath(id)) {
      await Deno.remove(`${this.#opts.dataDir}/logs/${id}`, { recursive: true }).catch(() => {});
    }
  }

  #status(
    c: { id: string; image: string; labels: Record<string, string> },
    p: Process | undefined,
  ): ContainerStatus {
    const base = { id: c.id, image: c.image, labels: c.labels };
    if (!p) return { ...base, state: "created" };
    if (p.status === Status.STOPPED) {
      return {
        ...base,
        state: "stopped",
        exitCode: p.exitStatus,
        ...(p.exitedAt ? { exitedAt: p.exitedAt } : {}),
      };
    }
    return { ...base, state: "running", pid: p.pid };
  }

  async list(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    const [{ containers }, { tasks }] = await Promise.all([
      this.client.containers.list({ filters: [] }),
      this.client.tasks.list({ filter: "" }),
    ]);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const want = Object.entries(filter.labels ?? {});
    return containers
      .filter((c) => Labels.taskId in c.labels && want.every(([k, v]) => c.labels[k] === v))
      .map((c) => this.#status(c, byId.get(c.id)))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async inspect(id: string): Promise<ContainerStatus> {
    let container;
    try {
      container = (await this.client.containers.get({ id })).container!;
    } catch (err) {
      if (isContainerdCode(err, "not_found")) throw new NotFoundError("container", id);
      throw err;
    }
    const task = await this.client.tasks.get({ containerId: id, execId: "" }).then(
      (r) => r.process,
      (err) => {
        if (isContainerdCode(err, "not_found")) return undefined;
        throw err;
      },
    );
    return this.#status(container, task);
  }

  async *logs(id: string, options: LogsOptions = {}): AsyncGenerator<LogEntry> {
    const target = this.#logTarget(await this.#labels(id), id);
    const waiting = new AbortController();
    const exited = options.follow
      ? waitTask(this.client, id, { signal: waiting.signal }).catch(() => {})
      : undefined;
    try {
      yield* readLogs(target.path, { ...options, maxFiles: target.maxFiles, exited });
    } finally {
      waiting.abort();
    }
  }

  /** Exec options for containerd: the user resolved against the container's image. */
  async #execInput(id: string, options: ExecOptions) {
    const container = await this.#container(id);
    const { user, ...rest } = options;
    const resolved = user === undefined ? undefined : await this.#execUser(container, user);
    return {
      ...rest,
      ...(resolved ? { user: resolved } : {}),
      fifoDir: `${this.#opts.dataDir}/exec`,
    };
  }

  /**
   * Resolves an exec's `user` against the image the container was created from: the parent of
   * its rootfs snapshot, which stays while the container does. Not the image its record names:
   * that tag may have moved to another image since (a newer pull), or been removed. Not the
   * container's own files either: reading them from the host races with a container that swaps
   * /etc/passwd for a symlink. Without the snapshot only numeric users resolve.
   */
  async #execUser(container: Container, user: string): Promise<ProcessUser> {
    const snapshotter = container.snapshotter || this.#snapshotter;
    const parent = await this.client.snapshots
      .stat({ snapshotter, key: container.snapshotKey || container.id })
      .then((r) => r.info?.parent || undefined, (err) => {
        if (isContainerdCode(err, "not_found")) return undefined;
        throw err;
      });
    const etc = parent ? await this.#imageEtc(snapshotter, parent) : {};
    return resolveUser(user, etc, container.image);
  }

  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return await runExec(this.client, id, await this.#execInput(id, options));
  }

  async execStream(id: string, options: ExecOptions): Promise<ExecSession> {
    return await startExec(this.client, id, await this.#execInput(id, options));
  }

  async stats(id: string): Promise<ContainerStats> {
    try {
      return await taskStats(this.client, id);
    } catch (err) {
      return await this.#mapError(id, err, "is not running");
    }
  }

  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent> {
    return subscribeEvents(this.client, signal);
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

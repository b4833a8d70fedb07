/**
 * Container lifecycle on containerd: create (rootfs snapshot + container record with its runtime
 * spec), start (task with file-backed stdout/stderr), wait, stop (signal, grace period, then
 * SIGKILL to every process), kill, and remove (task, container, snapshot).
 *
 * These are the building blocks of the containerd `Runtime`: prepare → start → wait/stop → remove.
 */
import * as grpc from "@grpc/grpc-js";
import { type ContainerdClient, ContainerdError, isContainerdCode } from "./client.ts";
import { Options as RuncOptions } from "./gen/github.com/containerd/containerd/runtime/v2/runc/options/oci.ts";
import { Status as TaskStatus } from "./gen/github.com/containerd/containerd/api/types/task/task.ts";
import { withLease } from "./lease.ts";
import { type RuntimeSpec, specToAny } from "./spec.ts";
import { DEFAULT_SNAPSHOTTER } from "./unpack.ts";

/** The runc shim Warren runs containers with. */
export const RUNC_RUNTIME = "io.containerd.runc.v2";
/** Type URL of runc shim options on a container record. */
export const RUNC_OPTIONS_TYPE_URL = "containerd.runc.v1.Options";

/** Inputs of {@link createContainer}. */
export interface CreateContainerInput {
  /** Container ID, also the rootfs snapshot key. Unique within the namespace. */
  id: string;
  /** The image: name for the record, chain ID and snapshotter for the rootfs. */
  image: { name: string; chainId: string; snapshotter?: string };
  /** Runtime spec, usually from `buildSpec`. */
  spec: RuntimeSpec;
  /** Labels on the container record (e.g. Warren task and service IDs). */
  labels?: Record<string, string>;
  /** runc state directory; runc's default (/run/containerd/runc) when absent. */
  runcRoot?: string;
}

/** How a task ended. */
export interface ExitStatus {
  /** Exit code, or 128 + signal number when killed by a signal. */
  exitCode: number;
  exitedAt: Date | undefined;
}

/**
 * Prepares the container's writable rootfs snapshot on top of the image and records the
 * container. On failure nothing is left behind.
 */
export async function createContainer(
  client: ContainerdClient,
  input: CreateContainerInput,
): Promise<void> {
  const snapshotter = input.image.snapshotter ?? DEFAULT_SNAPSHOTTER;
  const runtimeOptions = input.runcRoot === undefined ? undefined : {
    typeUrl: RUNC_OPTIONS_TYPE_URL,
    value: RuncOptions.encode(RuncOptions.fromPartial({ root: input.runcRoot })).finish(),
  };
  // The lease holds the new snapshot until the container record references it.
  await withLease(client, async (lease) => {
    await client.snapshots.prepare({
      snapshotter,
      key: input.id,
      parent: input.image.chainId,
      labels: {},
    }, { lease });
    try {
      await client.containers.create({
        container: {
          id: input.id,
          labels: input.labels ?? {},
          image: input.image.name,
          runtime: { name: RUNC_RUNTIME, options: runtimeOptions },
          spec: specToAny(input.spec),
          snapshotter,
          snapshotKey: input.id,
          createdAt: undefined,
          updatedAt: undefined,
          extensions: {},
        },
      });
    } catch (err) {
      await client.snapshots.remove({ snapshotter, key: input.id }).catch(() => {});
      throw err;
    }
  });
}

/** Where a task's output goes. */
export interface TaskIo {
  /**
   * Host file that stdout and stderr are both appended to (created if missing). containerd 1.6's
   * runc shim sends both streams to the one `file://` target, so there is no separate stderr file.
   */
  logPath?: string;
  /**
   * A containerd IO URI used for both stdout and stderr instead of `logPath`, e.g. the
   * `binary://` log driver URI (see log_driver.ts), which keeps the streams apart.
   */
  logUri?: string;
}

/**
 * Creates and starts the container's task (its main process) with the rootfs mounts of its
 * snapshot and its output appended to a file. Returns the host PID. `container` (its record,
 * when the caller has just read it) saves reading it again.
 */
export async function startTask(
  client: ContainerdClient,
  id: string,
  io: TaskIo = {},
  container?: { snapshotter: string; snapshotKey: string },
): Promise<number> {
  container ??= (await client.containers.get({ id })).container;
  const snapshotter = container?.snapshotter || DEFAULT_SNAPSHOTTER;
  const { mounts } = await client.snapshots.mounts({
    snapshotter,
    key: container?.snapshotKey || id,
  });
  await client.tasks.create({
    containerId: id,
    rootfs: mounts,
    stdin: "",
    // `file://` makes the shim write the file itself, so output survives Warren restarts.
    stdout: io.logUri ?? (io.logPath ? `file://${io.logPath}` : ""),
    stderr: io.logUri ?? (io.logPath ? `file://${io.logPath}` : ""),
    terminal: false,
    checkpoint: undefined,
    options: undefined,
    runtimePath: "",
  });
  try {
    const { pid } = await client.tasks.start({ containerId: id, execId: "" });
    return pid;
  } catch (err) {
    await client.tasks.delete({ containerId: id }).catch(() => {});
    throw err;
  }
}

/** Options of {@link waitTask}. */
export interface WaitOptions {
  /** Stops waiting (the task keeps running); the promise then rejects. */
  signal?: AbortSignal;
}

/** Resolves when the task exits (at once if it already has). */
export async function waitTask(
  client: ContainerdClient,
  id: string,
  options: WaitOptions = {},
): Promise<ExitStatus> {
  const res = await client.tasks.wait({ containerId: id, execId: "" }, { signal: options.signal });
  return { exitCode: res.exitStatus, exitedAt: res.exitedAt };
}

/** Sends `signal` (a number, e.g. 15) to the task's main process, or to all of its processes. */
export async function killTask(
  client: ContainerdClient,
  id: string,
  signal: number,
  options: { all?: boolean } = {},
): Promise<void> {
  await client.tasks.kill({ containerId: id, execId: "", signal, all: options.all ?? false });
}

/** Options of {@link stopTask}. */
export interface StopOptions {
  /** First signal; default 15 (SIGTERM). */
  signal?: number;
  /** How long the process may take to exit after the first signal; default 10 s. */
  gracePeriodMs?: number;
  /** How long the exit may take after SIGKILL; default {@link KILL_WAIT_MS}. */
  killWaitMs?: number;
}

const SIGKILL = 9;
/**
 * Longest wait for the exit after SIGKILL. A killed process is reaped at once unless its shim is
 * hung (or the process is stuck in the kernel): waiting on for ever would hang whoever stops it
 * (a drain, a worker shutting down), so the stop fails instead and its caller retries or cleans up.
 */
export const KILL_WAIT_MS = 10_000;
const WAIT_METHOD = "/containerd.services.tasks.v1.Tasks/Wait";

/**
 * Stops the task: `signal`, then after the grace period SIGKILL to all its processes (a PID 1
 * without a SIGTERM handler ignores SIGTERM). Returns how it exited, or undefined when there is
 * no task. @throws ContainerdError (`deadline_exceeded`, retryable) when the task has not exited
 * `killWaitMs` after SIGKILL
 */
export async function stopTask(
  client: ContainerdClient,
  id: string,
  options: StopOptions = {},
): Promise<ExitStatus | undefined> {
  const waiting = new AbortController();
  // Wait first, so an exit between kill and wait cannot be missed.
  const exited = waitTask(client, id, { signal: waiting.signal });
  exited.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
  try {
    await killTask(client, id, options.signal ?? 15);
  } catch (err) {
    if (!isContainerdCode(err, "not_found")) throw err;
    // Either no task (Wait fails too) or the process already finished (Wait answers).
    return await exited.catch((e) => {
      if (isContainerdCode(e, "not_found")) return undefined;
      throw e;
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const after = (ms: number) =>
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
  try {
    const first = await Promise.race([exited, after(options.gracePeriodMs ?? 10_000)]);
    if (first !== "timeout") return first;
    await killTask(client, id, SIGKILL, { all: true }).catch((err) => {
      if (!isContainerdCode(err, "not_found")) throw err;
    });
    const killWaitMs = options.killWaitMs ?? KILL_WAIT_MS;
    const killed = await Promise.race([exited, after(killWaitMs)]);
    if (killed !== "timeout") return killed;
    throw new ContainerdError(
      WAIT_METHOD,
      grpc.status.DEADLINE_EXCEEDED,
      `task "${id}" did not exit within ${killWaitMs} ms of SIGKILL (is its shim hung?)`,
    );
  } finally {
    clearTimeout(timer);
    waiting.abort();
  }
}

/**
 * Removes the task (killing it if it still runs), the container record and its rootfs snapshot.
 * Idempotent: parts already gone are skipped.
 */
export async function removeContainer(client: ContainerdClient, id: string): Promise<void> {
  const ignoreMissing = (err: unknown) => {
    if (!isContainerdCode(err, "not_found")) throw err;
  };
  let snapshotter = DEFAULT_SNAPSHOTTER;
  let snapshotKey = id;
  try {
    const { container } = await client.containers.get({ id });
    snapshotter = container?.snapshotter || snapshotter;
    snapshotKey = container?.snapshotKey || snapshotKey;
  } catch (err) {
    ignoreMissing(err);
  }
  let task: { status: TaskStatus } | undefined;
  try {
    task = (await client.tasks.get({ containerId: id, execId: "" })).process;
  } catch (err) {
    ignoreMissing(err);
  }
  if (task) {
    // containerd refuses to delete a task whose process still runs: kill everything first.
    if (task.status !== TaskStatus.STOPPED) {
      await stopTask(client, id, { signal: SIGKILL, gracePeriodMs: 10_000 });
    }
    await client.tasks.delete({ containerId: id }).catch(ignoreMissing);
  }
  await client.containers.delete({ id }).catch(ignoreMissing);
  await client.snapshots.remove({ snapshotter, key: snapshotKey }).catch(ignoreMissing);
}

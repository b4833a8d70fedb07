/**
 * One fake container: its scripted main process (output lines and exit on the runtime's clock,
 * signal handling), its logs with size-capped retention, its file system view, secrets held in
 * memory, and exec. Owned by `FakeRuntime`, which does the validation and lookups.
 */
import type { Clock } from "./fake_clock.ts";
import type { FakeBehavior, FakeImage } from "./fake.ts";
import { concat, FakeContainerFs, type FakeFile, runBuiltin, text } from "./_fake_fs.ts";
import { Notifier } from "./_fake_util.ts";
import {
  type ContainerConfig,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  DEFAULT_LOG_MAX_FILE_BYTES,
  DEFAULT_LOG_MAX_FILES,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type ExitInfo,
  type ImageInfo,
  Labels,
  type LogEntry,
  type RuntimeEvent,
  type Signal,
  signalNumber,
} from "./runtime.ts";

const SIGKILL = 9;
/** What the stdin pipe of an exec holds while its process does not read (Linux: 64 KiB). */
export const PIPE_BYTES = 64 * 1024;

/** Inputs of {@link FakeProcess}. */
export interface FakeProcessInput {
  config: ContainerConfig;
  image: ImageInfo;
  fakeImage: FakeImage;
  clock: Clock;
  hostFs: Map<string, FakeFile>;
  emit: (event: RuntimeEvent) => void;
}

/** A fake container and its main process. */
export class FakeProcess {
  readonly id: string;
  readonly args: string[];
  readonly env: Map<string, string>;
  readonly labels: Record<string, string>;
  readonly stopSignal: Signal;
  readonly secrets = new Map<string, FakeFile>();
  readonly fs: FakeContainerFs;
  readonly logs: LogEntry[] = [];
  /** Lines dropped from the front of {@link logs} by rotation. */
  logsDropped = 0;
  readonly changed = new Notifier();
  readonly exited: Promise<ExitInfo>;
  state: ContainerState = "created";
  removed = false;
  pid?: number;
  #exitInfo?: ExitInfo;
  #startedAt = 0;
  #logBytes = 0;
  #resolveExit!: (info: ExitInfo) => void;
  #timers: unknown[] = [];
  readonly #behavior: FakeBehavior;
  readonly #input: FakeProcessInput;
  readonly #logCapBytes: number;

  constructor(input: FakeProcessInput) {
    this.#input = input;
    const { config, image } = input;
    this.id = config.taskId;
    const entrypoint = config.entrypoint ?? image.config.entrypoint;
    const cmd = config.command ?? (config.entrypoint ? [] : image.config.cmd);
    this.args = [...entrypoint, ...cmd];
    this.env = new Map();
    for (const kv of [...image.config.env, ...(config.env ?? [])]) {
      const eq = kv.indexOf("=");
      this.env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? "" : kv.slice(eq + 1));
    }
    this.labels = { ...config.labels, [Labels.taskId]: config.taskId };
    this.stopSignal = config.stopSignal ?? image.config.stopSignal ?? "SIGTERM";
    const b = input.fakeImage.behavior ?? {};
    this.#behavior = typeof b === "function" ? b({ args: this.args, env: this.env }) : b;
    this.#logCapBytes = (config.log?.maxFileBytes ?? DEFAULT_LOG_MAX_FILE_BYTES) *
      (config.log?.maxFiles ?? DEFAULT_LOG_MAX_FILES);
    for (const s of config.secrets ?? []) {
      this.secrets.set(s.name, { data: s.data.slice(), mode: s.mode ?? 0o400 });
    }
    const rootfs = new Map<string, FakeFile>();
    for (const [path, content] of Object.entries(input.fakeImage.files ?? {})) {
      rootfs.set(path, { data: text.enc(content), mode: 0o644 });
    }
    this.fs = new FakeContainerFs({
      rootfs,
      host: input.hostFs,
      secrets: this.secrets,
      mounts: config.mounts ?? [],
      readonlyRoot: config.readonlyRootfs ?? false,
    });
    this.exited = new Promise((resolve) => this.#resolveExit = resolve);
  }

  /** Starts the scripted main process. */
  start(pid: number): number {
    if (this.#behavior.startError) {
      throw new Error(`fake start of "${this.id}" failed: ${this.#behavior.startError}`);
    }
    const { clock } = this.#input;
    this.state = "running";
    this.pid = pid;
    this.#startedAt = clock.now();
    this.#input.emit({ type: "start", id: this.id, pid, at: new Date(this.#startedAt) });
    for (const o of this.#behavior.output ?? []) {
      const write = () => this.#log(o.stream ?? "stdout", o.line);
      if (!o.atMs) write();
      else this.#timers.push(clock.setTimeout(write, o.atMs));
    }
    if (this.#behavior.exitAfterMs !== undefined) {
      const code = this.#behavior.exitCode ?? 0;
      this.#timers.push(clock.setTimeout(() => this.#exit(code), this.#behavior.exitAfterMs));
    }
    this.changed.notify();
    return pid;
  }

  #log(stream: "stdout" | "stderr", line: string): void {
    if (this.state !== "running") return;
    this.logs.push({ stream, line, ts: new Date(this.#input.clock.now()) });
    this.#logBytes += line.length + 1;
    while (this.#logBytes > this.#logCapBytes && this.logs.length > 1) {
      this.#logBytes -= this.logs.shift()!.line.length + 1;
      this.logsDropped++;
    }
    this.changed.notify();
  }

  #exit(exitCode: number): void {
    if (this.state !== "running") return;
    for (const t of this.#timers) this.#input.clock.clearTimeout(t);
    this.#timers = [];
    this.state = "stopped";
    const at = new Date(this.#input.clock.now());
    this.#exitInfo = { exitCode, exitedAt: at };
    this.#resolveExit(this.#exitInfo);
    this.#input.emit({ type: "exit", id: this.id, pid: this.pid, exitCode, at });
    this.changed.notify();
  }

  /** Delivers a signal to the main process (ignored ones are dropped, except SIGKILL). */
  signal(sig: number): void {
    if (this.state !== "running") return;
    if (sig !== SIGKILL && this.#behavior.ignoreSignals?.includes(sig)) return;
    const code = sig === SIGKILL ? 137 : this.#behavior.exitCodeOnSignal?.(sig) ?? 128 + sig;
    this.#exit(code);
  }

  /** How it exited; only valid once stopped. */
  exitInfo(): ExitInfo {
    return this.#exitInfo!;
  }

  /** Kills it if running and wipes its secrets, as remove does. */
  destroy(): void {
    if (this.state === "running") this.signal(SIGKILL);
    this.removed = true;
    this.secrets.clear();
    const at = new Date(this.#input.clock.now());
    this.#input.emit({ type: "delete", id: this.id, exitCode: this.#exitInfo?.exitCode, at });
    this.changed.notify();
  }

  status(): ContainerStatus {
    return {
      id: this.id,
      image: this.#input.image.ref,
      labels: { ...this.labels },
      state: this.state,
      ...(this.state === "running" ? { pid: this.pid } : {}),
      ...(this.#exitInfo ? this.#exitInfo : {}),
    };
  }

  stats(): ContainerStats {
    const now = this.#input.clock.now();
    const perSecond = this.#behavior.cpuNsPerSecond ?? 10_000_000;
    return {
      cpuUsageNs: Math.round(((now - this.#startedAt) / 1000) * perSecond) + 1,
      memoryBytes: this.#behavior.memoryBytes ?? 4 * 1024 * 1024,
      ...(this.#input.config.memoryBytesMax !== undefined
        ? { memoryLimitBytes: this.#input.config.memoryBytesMax }
        : {}),
      pids: 1,
      at: new Date(now),
    };
  }

  exec(cmd: readonly string[], stdin: Uint8Array): ExecResult {
    const custom = this.#behavior.exec?.(cmd, this.fs);
    if (custom) return custom;
    const r = runBuiltin(this.fs, cmd, stdin);
    return { exitCode: r.exitCode, stdout: text.dec(r.stdout), stderr: text.dec(r.stderr) };
  }

  /**
   * Exec with streams. `cat` (no files) and `tee` collect stdin until it is closed, then run;
   * `sleep N` runs N seconds on the runtime's clock (or until killed) and never reads stdin;
   * everything else runs at once. A command that does not read its stdin has a pipe of
   * {@link PIPE_BYTES}, as a real one does: writes past it wait until the process is gone, then
   * fail (EPIPE), and so do writes to a process that has exited.
   */
  execStream(options: ExecOptions): ExecSession {
    const chunks: Uint8Array[] = [];
    let outCtl!: ReadableStreamDefaultController<Uint8Array>;
    let errCtl!: ReadableStreamDefaultController<Uint8Array>;
    const stdout = new ReadableStream<Uint8Array>({ start: (c) => void (outCtl = c) });
    const stderr = new ReadableStream<Uint8Array>({ start: (c) => void (errCtl = c) });
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => resolveExit = r);
    let finished = false;
    let sleeping: unknown;
    const finish = (r: ExecResult) => {
      if (finished) return;
      finished = true;
      if (sleeping !== undefined) this.#input.clock.clearTimeout(sleeping);
      if (r.stdout) outCtl.enqueue(text.enc(r.stdout));
      if (r.stderr) (options.tty ? outCtl : errCtl).enqueue(text.enc(r.stderr));
      outCtl.close();
      errCtl.close();
      resolveExit(r.exitCode);
    };
    // Only `cat` without files and `tee` read stdin; everything else runs at once, as it would.
    const [name, ...rest] = options.cmd;
    const readsStdin = name === "tee" || (name === "cat" && rest.length === 0);
    const seconds = name === "sleep" && rest.length === 1 ? Number(rest[0]) : NaN;
    if (name === "sleep" && !(seconds >= 0)) {
      queueMicrotask(() =>
        finish({ exitCode: 1, stdout: "", stderr: `sleep: invalid number '${rest.join(" ")}'\n` })
      );
    } else if (name === "sleep") {
      sleeping = this.#input.clock.setTimeout(
        () => finish({ exitCode: 0, stdout: "", stderr: "" }),
        seconds * 1000,
      );
    } else if (!readsStdin) {
      queueMicrotask(() => finish(this.exec(options.cmd, new Uint8Array())));
    }
    const brokenPipe = () => new Error(`exec ${name}: write to stdin: broken pipe`);
    let piped = 0;
    const stdin = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (readsStdin) return void chunks.push(chunk);
        if (finished) throw brokenPipe();
        piped += chunk.byteLength;
        if (piped <= PIPE_BYTES) return;
        // The pipe is full and nobody reads it: the write waits for the process to go.
        return exited.then(() => {
          throw brokenPipe();
        });
      },
      close: () => {
        if (readsStdin) finish(this.exec(options.cmd, concat(chunks)));
      },
    });
    return {
      stdin,
      stdout,
      stderr,
      exited,
      kill: (sig?: Signal) => {
        finish({ exitCode: 128 + signalNumber(sig ?? "SIGKILL"), stdout: "", stderr: "" });
        return Promise.resolve();
      },
      resize: () => Promise.resolve(),
    };
  }
}

/**
 * Warren's own containerd, for nodes where no containerd socket is configured: a child process
 * with its config, root, state and sockets under Warren's data dir, restarted with exponential
 * backoff when it crashes, and stopped when Warren shuts down.
 *
 * ```
 * start ─▶ write config ─▶ stop a leftover (pid file) ─▶ spawn ─▶ wait for Version
 *            ▲                                               │ exits unexpectedly
 *            └──────── sleep backoff (doubling, capped) ◀────┘
 * ```
 *
 * Stopping or restarting containerd does not stop containers: their runc shims run on their own
 * and the next containerd reconnects to them. A containerd left running by a crashed Warren is
 * found through the pid file and replaced, so there is only ever one per data dir.
 */
import { UnavailableError, ValidationError } from "../../proto/errors.ts";
import { ContainerdClient } from "./client.ts";

/** Options of {@link ContainerdSupervisor.start}. */
export interface ContainerdSupervisorOptions {
  /** Everything goes under `<dataDir>/containerd/`. */
  dataDir: string;
  /** containerd binary; default /usr/bin/containerd. */
  binary?: string;
  logLevel?: "debug" | "info" | "warn" | "error";
  /** How long to wait for the first start to answer; default 15 s. */
  readyTimeoutMs?: number;
  /** First restart delay; default 200 ms, doubling up to {@link maxBackoffMs}. */
  initialBackoffMs?: number;
  /** default 30 s. */
  maxBackoffMs?: number;
  /** A run at least this long resets the backoff; default 60 s. */
  resetBackoffAfterMs?: number;
  /** Told about every unexpected exit (for logs and metrics). */
  onExit?: (info: { code: number; signal: string | null; restartInMs: number }) => void;
}

const PLUGINS_NOT_USED = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

/** The config.toml for a containerd living in `dir`. */
export function supervisorConfig(dir: string, logLevel: string): string {
  const q = JSON.stringify; // TOML basic strings accept JSON string escapes
  return [
    "version = 2",
    `root = ${q(`${dir}/root`)}`,
    `state = ${q(`${dir}/state`)}`,
    "oom_score = -500", // the kernel should pick a container before the runtime
    `disabled_plugins = ${q(PLUGINS_NOT_USED)}`,
    "[grpc]",
    `  address = ${q(`${dir}/containerd.sock`)}`,
    "[ttrpc]",
    `  address = ${q(`${dir}/containerd.sock.ttrpc`)}`,
    "[debug]",
    `  address = ${q(`${dir}/debug.sock`)}`,
    `  level = ${q(logLevel)}`,
    "[metrics]",
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(`${dir}/opt`)}`,
    "",
  ].join("\n");
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // harmless probe
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** A supervised containerd child. See the module doc. */
export class ContainerdSupervisor implements AsyncDisposable {
  /** gRPC socket to give to `ContainerdRuntime`. */
  readonly socket: string;
  /** Directory holding config, root, state, sockets, log and pid file. */
  readonly dir: string;
  /** containerd's stdout/stderr (appended across restarts). */
  readonly logPath: string;
  #child?: Deno.ChildProcess;
  #restarts = 0;
  #stopping = false;
  #loop?: Promise<void>;
  #wake?: () => void;
  readonly #opts: ContainerdSupervisorOptions;

  private constructor(opts: ContainerdSupervisorOptions) {
    this.#opts = opts;
    this.dir = `${opts.dataDir.replace(/\/+$/, "")}/containerd`;
    this.socket = `${this.dir}/containerd.sock`;
    this.logPath = `${this.dir}/containerd.log`;
  }

  /** Writes the config, starts containerd and waits until it answers. */
  static async start(opts: ContainerdSupervisorOptions): Promise<ContainerdSupervisor> {
    const s = new ContainerdSupervisor(opts);
    // Unix socket paths are limited to 107 bytes; the ttrpc one is the longest.
    if (new TextEncoder().encode(`${s.socket}.ttrpc`).length > 107) {
      throw new ValidationError(
        "dataDir",
        `"${opts.dataDir}" is too long for containerd's sockets`,
      );
    }
    await Deno.mkdir(`${s.dir}/state`, { recursive: true, mode: 0o711 });
    await Deno.writeTextFile(
      `${s.dir}/config.toml`,
      supervisorConfig(s.dir, opts.logLevel ?? "info"),
    );
    await s.#stopLeftover();
    s.#spawn();
    try {
      await s.#waitReady(opts.readyTimeoutMs ?? 15_000);
    } catch (err) {
      await s.stop();
      const tail = await Deno.readTextFile(s.logPath).catch(() => "");
      throw new UnavailableError(`containerd did not start: ${err}\n${tail.slice(-2000)}`, {
        cause: err,
      });
    }
    s.#loop = s.#supervise();
    return s;
  }

  /** PID of the current containerd process. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times containerd was restarted after an unexpected exit. */
  get restarts(): number {
    return this.#restarts;
  }

  async #stopLeftover(): Promise<void> {
    const pid = Number(await Deno.readTextFile(`${this.dir}/containerd.pid`).catch(() => ""));
    if (!(pid > 0) || !alive(pid)) return;
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    if (!cmdline.includes(`${this.dir}/config.toml`)) return; // the pid was reused
    Deno.kill(pid, "SIGTERM");
    if (!(await waitGone(pid, 10_000))) {
      Deno.kill(pid, "SIGKILL");
      await waitGone(pid, 5_000);
    }
  }

  #spawn(): void {
    const binary = this.#opts.binary ?? "/usr/bin/containerd";
    // exec keeps containerd our direct child; the shell only sets up the log redirection.
    this.#child = new Deno.Command("bash", {
      args: [
        "-c",
        'exec "$1" --config "$2" >>"$3" 2>&1',
        "containerd",
        binary,
        `${this.dir}/config.toml`,
        this.logPath,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    Deno.writeTextFileSync(`${this.dir}/containerd.pid`, String(this.#child.pid));
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    using client = new ContainerdClient({ socket: this.socket });
    const child = this.#child!;
    const exited = child.status.then((s) => {
      throw new Error(`containerd exited with code ${s.code}`);
    });
    await Promise.race([client.waitReady(timeoutMs), exited]);
    exited.catch(() => {});
  }

  async #supervise(): Promise<void> {
    const initial = this.#opts.initialBackoffMs ?? 200;
    let backoff = initial;
    while (!this.#stopping) {
      const startedAt = Date.now();
      const status = await this.#child!.status;
      if (this.#stopping) return;
      if (Date.now() - startedAt >= (this.#opts.resetBackoffAfterMs ?? 60_000)) backoff = initial;
      this.#opts.onExit?.({ code: status.code, signal: status.signal, restartInMs: backoff });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      if (this.#stopping) return;
      backoff = Math.min(backoff * 2, this.#opts.maxBackoffMs ?? 30_000);
      this.#restarts++;
      this.#spawn();
      // Not ready in time is not fatal: the next exit (or the next call) will tell.
      await this.#waitReady(10_000).catch(() => {});
    }
  }

  /** Stops containerd (SIGTERM, SIGKILL after 10 s); containers keep running. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    const child = this.#child;
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
    }
    await this.#loop;
    await Deno.remove(`${this.dir}/containerd.pid`).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts and kills Raft test members (./main.ts) as OS processes. The first start binds port 0
 * and learns its ports from the `ready` line; restarts reuse them, since peers know the member by
 * its Raft address. stdout after `ready` and stderr go to `<dataDir>.log`.
 * @module
 */
import { fileURLToPath } from "node:url";
import { MemberClient } from "./client.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** How to run one member; ports are 0 until the first start picked them. */
export interface MemberSpec {
  id: string;
  dataDir: string;
  raftPort: number;
  clientPort: number;
  tickMs?: number;
  electionTicks?: number;
  snapshotEveryEntries?: number;
  requestTimeoutMs?: number;
  /** Extra `deno run` flags (e.g. `--inspect=127.0.0.1:9229` to profile a member). */
  denoFlags?: string[];
  /** Directory with `ca.pem`, `cert.pem`, `key.pem`: Raft over mutual TLS (plain TCP without). */
  tlsDir?: string;
}

/** Options of one start. */
export interface StartOptions {
  bootstrap?: boolean;
  /** Peer Raft addresses by id. */
  peers?: Record<string, string>;
  /** How long to wait for the `ready` line. Default 20 s. */
  readyTimeoutMs?: number;
}

/** A running member process. */
export class MemberProcess implements AsyncDisposable {
  readonly spec: MemberSpec;
  readonly client: MemberClient;
  readonly #child: Deno.ChildProcess;
  /** Resolves with the exit status once the process is gone. */
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(spec: MemberSpec, child: Deno.ChildProcess) {
    this.spec = spec;
    this.#child = child;
    this.exited = child.status;
    this.client = new MemberClient(`http://127.0.0.1:${spec.clientPort}`);
  }

  /** Starts the member and resolves once it printed `ready`; fills in `spec`'s ports. */
  static async start(spec: MemberSpec, opts: StartOptions = {}): Promise<MemberProcess> {
    const args = [
      "run",
      "-A",
      ...(spec.denoFlags ?? []),
      MAIN,
      "--id",
      spec.id,
      "--data-dir",
      spec.dataDir,
      "--raft-addr",
      `127.0.0.1:${spec.raftPort}`,
      "--client-addr",
      `127.0.0.1:${spec.clientPort}`,
      "--tick-ms",
      String(spec.tickMs ?? 50),
      "--election-ticks",
      String(spec.electionTicks ?? 6),
      "--snapshot-every",
      String(spec.snapshotEveryEntries ?? 10_000),
      "--request-timeout-ms",
      String(spec.requestTimeoutMs ?? 5_000),
    ];
    if (opts.bootstrap) args.push("--bootstrap");
    if (spec.tlsDir) args.push("--tls-dir", spec.tlsDir);
    const peers = Object.entries(opts.peers ?? {}).map(([id, addr]) => `${id}=${addr}`);
    if (peers.length > 0) args.push("--peers", peers.join(","));
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log = await Deno.open(`${spec.dataDir}.log`, { create: true, append: true });
    const logWriter = log.writable.getWriter();
    const logLine = (s: string) => logWriter.write(new TextEncoder().encode(s)).catch(() => {});
    // Both pipes drain into the log until the process exits, so neither can fill up.
    const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (s) => void logLine(s) }),
    ).catch(() => {});
    const ready = Promise.withResolvers<string>();
    const outDone = (async () => {
      let buf = "";
      let seen = false;
      for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) {
        if (seen) {
          void logLine(s);
          continue;
        }
        buf += s;
        const line = buf.split("\n").find((l) => l.startsWith("ready "));
        if (line) {
          seen = true;
          ready.resolve(line);
        }
      }
      if (!seen) ready.reject(new Error(`member ${spec.id} exited before it was ready`));
    })();
    void Promise.all([errDone, outDone]).finally(() => logWriter.close().catch(() => {}));
    const timeoutMs = opts.readyTimeoutMs ?? 20_000;
    const timer = setTimeout(
      () => ready.reject(new Error(`member ${spec.id} not ready after ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const line = await ready.promise;
      const raft = /raft=\S+:(\d+)/.exec(line);
      const client = /client=\S+:(\d+)/.exec(line);
      spec.raftPort = Number(raft?.[1]);
      spec.clientPort = Number(client?.[1]);
    } catch (err) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      throw new Error(`${err instanceof Error ? err.message : err}; see ${spec.dataDir}.log`);
    } finally {
      clearTimeout(timer);
    }
    return new MemberProcess(spec, child);
  }

  /** The member's Raft address. */
  get raftAddr(): string {
    return `127.0.0.1:${this.spec.raftPort}`;
  }

  /** The OS process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends `signal` (unless the process is gone) and waits for it to exit. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch { /* already exited */ }
    try {
      return await this.exited;
    } finally {
      this.client.close();
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already exited */ }
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      this.client.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.kill("SIGKILL").then(() => {});
  }
}

/**
 * The worker's end of TunnelService: managers cannot dial a worker behind NAT, so the worker
 * keeps one bidirectional stream open to the leader and answers the log and exec requests the
 * leader multiplexes over it (see manager/api/tunnel_hub.ts).
 *
 * ```
 *  ┌─▶ Open(next manager) ─▶ hello{node} ─▶ ping (accepted) ─▶ serve requests until the stream
 *  │     refused (follower: NOT_LEADER), failed, or quiet for idleTimeoutMs ──────────┐
 *  └──────────────────── backoff 100 ms → 2 s ◀──────────────────────────────────────┘
 *  logs{task}  ─▶ runtime.logs(follow, tail, since) ─▶ batches of lines ─▶ end
 *  exec{task}  ─▶ runtime.execStream ◀─ stdin / close / resize;  stdout, stderr ─▶ exit code
 *                     └─ stdin taken ─▶ stdin_credit (the leader sends within the window)
 * ```
 *
 * A follow stream also ends (backstop) when its task is gone from the worker or has been
 * terminal for `endGraceMs`; a dropped tunnel cancels every request on it.
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  credentials as grpcCredentials,
} from "@grpc/grpc-js";
import { codecs } from "../proto/convert.ts";
import * as wire from "../proto/gen/warren.ts";
import type { TunnelDown, TunnelUp } from "../proto/schema/mod.ts";
import { toWarrenError, UnavailableError } from "../proto/errors.ts";
import { type Logger, logger } from "../proto/log.ts";
import { fromGrpcError } from "../net/grpc/status.ts";
import { sleep, systemClock } from "./clock.ts";
import { serveExec, serveLogs, type TunnelRequest, type UpSender } from "./tunnel_requests.ts";
import type { Worker } from "./worker.ts";

/** Options of {@link Tunnel.start}. */
export interface TunnelOptions {
  worker: Worker;
  /** Manager API addresses to try, in order (re-read on every reconnect). */
  managers: () => readonly string[];
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** Reconnect backoff bounds. Defaults 100 ms and 2 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Reconnect when the manager sent nothing (not even a ping) for this long. Default 20 s. */
  idleTimeoutMs?: number;
  /** A followed task gone or terminal this long ends its logs stream. Default 3 s. */
  endGraceMs?: number;
  /** The stdin window every exec stream starts with (exec_stdin.ts). Default 256 KiB. */
  stdinWindowBytes?: number;
}

/** Default of {@link TunnelOptions.stdinWindowBytes}. */
export const DEFAULT_STDIN_WINDOW_BYTES = 256 * 1024;

type Call = ClientDuplexStream<wire.TunnelUp, wire.TunnelDown>;

/** The worker's tunnel. See the module doc. */
export class Tunnel {
  readonly #o: TunnelOptions;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #client: { address: string; client: Client } | undefined;
  #connected = false;
  #waiters: (() => void)[] = [];
  /** The requests of the tunnel open now. */
  #requests = new Map<number, TunnelRequest>();
  /** Tunnels opened so far (tests). */
  opened = 0;

  private constructor(o: TunnelOptions) {
    this.#o = o;
    this.#log = logger("tunnel", { node: o.worker.nodeId });
  }

  /** Starts the reconnect loop in the background. */
  static start(o: TunnelOptions): Tunnel {
    const t = new Tunnel(o);
    t.#loop = t.#run();
    return t;
  }

  /** Whether a manager accepted the tunnel. */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Exec stdin on the open tunnel that the processes have not taken yet: with a leader that
   * keeps to the stdin windows, at most one window per exec.
   */
  get stdinBufferedBytes(): number {
    let n = 0;
    for (const r of this.#requests.values()) n += r.stdinBufferedBytes;
    return n;
  }

  /** Resolves once a manager accepted the tunnel; rejects after `timeoutMs`. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new UnavailableError(`no tunnel within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Closes the tunnel for good (requests on it are cancelled). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#client?.client.close();
    this.#client = undefined;
  }

  async #run(): Promise<void> {
    const min = this.#o.reconnectMinMs ?? 100;
    const max = this.#o.reconnectMaxMs ?? 2_000;
    let backoff = min;
    let i = 0;
    while (!this.#stop.signal.aborted) {
      const addresses = this.#o.managers();
      if (addresses.length > 0) {
        const address = addresses[i % addresses.length]!;
        try {
          const accepted = await this.#session(address);
          if (accepted) backoff = min;
        } catch (err) {
          if (this.#stop.signal.aborted) break;
          this.#log.debug("tunnel closed", { manager: address, err: toWarrenError(err).message });
        }
        this.#setConnected(false);
        i++;
      }
      if (this.#stop.signal.aborted) break;
      await sleep(systemClock, backoff, this.#stop.signal);
      backoff = Math.min(backoff * 2, max);
    }
  }

  #clientFor(address: string): Client {
    if (this.#client?.address === address) return this.#client.client;
    this.#client?.client.close();
    const client = new Client(
      address,
      this.#o.credentials ?? grpcCredentials.createInsecure(),
      { "grpc.initial_reconnect_backoff_ms": 100, ...this.#o.channelOptions },
    );
    this.#client = { address, client };
    return client;
  }

  /** One tunnel on `address` until it ends; resolves whether the manager accepted it. */
  async #session(address: string): Promise<boolean> {
    const m = wire.TunnelServiceService.open;
    const call: Call = this.#clientFor(address).makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
    );
    const requests = new Map<number, TunnelRequest>();
    this.#requests = requests;
    const window = this.#o.stdinWindowBytes ?? DEFAULT_STDIN_WINDOW_BYTES;
    // Whether the leader keeps to the stdin windows: its first ping says so (older ones do not).
    let credits = false;
    let accepted = false;
    let lastSeen = Date.now();
    const idleMs = this.#o.idleTimeoutMs ?? 20_000;
    const idle = setInterval(() => {
      if (Date.now() - lastSeen > idleMs) call.cancel();
    }, Math.min(1_000, idleMs));
    const onStop = () => call.cancel();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    // Aborted when this tunnel ends. A cancelled or failed call emits neither "drain" nor "close"
    // for a write stuck on flow control (a paused manager), so a send waiting for those would
    // wait forever, and with it its request: a log reader's file and Tasks/Wait, an exec's pumps.
    const ended = new AbortController();
    const send: UpSender = async (up: TunnelUp) => {
      if (ended.signal.aborted) return; // its request is cancelled; nobody reads this any more
      if (!call.write(codecs.TunnelUp.toWire(up))) {
        await new Promise<void>((r) => {
          const done = () => {
            call.off("drain", done);
            call.off("close", done);
            ended.signal.removeEventListener("abort", done);
            r();
          };
          call.once("drain", done);
          call.once("close", done);
          ended.signal.addEventListener("abort", done, { once: true });
        });
      }
    };
    try {
      void send({
        streamId: 0,
        nodeId: this.#o.worker.nodeId,
        lines: [],
        end: false,
        pong: false,
        stdinWindow: window,
      });
      await new Promise<void>((resolve, reject) => {
        call.on("data", (raw: wire.TunnelDown) => {
          lastSeen = Date.now();
          try {
            const down = codecs.TunnelDown.fromWire(raw, "tunnel");
            if (!accepted) {
              accepted = true;
              this.opened++;
              this.#setConnected(true);
              this.#log.info("tunnel open", { manager: address });
            }
            if (down.streamId === 0 && down.stdinCredits) credits = true;
            this.#dispatch(down, requests, send, credits ? window : undefined);
          } catch (err) {
            this.#log.warn("bad tunnel message", { err: toWarrenError(err).message });
          }
        });
        call.on("error", (err) => reject(fromGrpcError(err as never)));
        call.on("end", () => resolve());
      });
    } finally {
      clearInterval(idle);
      this.#stop.signal.removeEventListener("abort", onStop);
      for (const r of requests.values()) r.cancel();
      requests.clear();
      call.cancel();
      ended.abort();
    }
    return accepted;
  }

  #dispatch(
    down: TunnelDown,
    requests: Map<number, TunnelRequest>,
    send: UpSender,
    stdinWindowBytes: number | undefined,
  ): void {
    const id = down.streamId;
    if (id === 0) {
      if (down.ping) void send({ streamId: 0, lines: [], end: false, pong: true });
      return;
    }
    const env = {
      worker: this.#o.worker,
      streamId: id,
      send,
      endGraceMs: this.#o.endGraceMs ?? 3_000,
      ...(stdinWindowBytes !== undefined ? { stdinWindowBytes } : {}),
      done: () => requests.delete(id),
    };
    if (down.logs) {
      requests.get(id)?.cancel();
      requests.set(id, serveLogs(env, down.logs));
      return;
    }
    if (down.exec) {
      requests.get(id)?.cancel();
      requests.set(id, serveExec(env, down.exec));
      return;
    }
    const r = requests.get(id);
    if (!r) return;
    if (down.cancel) {
      requests.delete(id);
      r.cancel();
      return;
    }
    r.input(down);
  }

  #setConnected(v: boolean): void {
    if (v === this.#connected) return;
    this.#connected = v;
    if (v) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    }
  }
}

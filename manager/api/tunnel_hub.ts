/**
 * The leader's end of the worker tunnels (TunnelService.Open). Workers at the edge are often
 * behind NAT, so the worker dials: it opens one long-lived bidirectional stream, names its node
 * in the first message, and the leader multiplexes log and exec requests over it.
 *
 * ```
 *  TaskService.Logs/Exec ─▶ hub.open(node, request) ─▶ TunnelDown{stream_id, logs|exec} ─▶ worker
 *          ▲                        │ AsyncQueue per stream ◀── TunnelUp{stream_id, lines|...}
 *          └── yields ◀─────────────┘                 end/error closes the stream
 * ```
 *
 * Bounded everywhere: the hub pings every `pingIntervalMs` and drops a tunnel that stayed quiet
 * for `idleTimeoutMs` (its streams fail with UNAVAILABLE); a stream whose reader lags more than
 * `highWater` messages pauses the whole tunnel (HTTP/2 flow control then slows the worker), and a
 * reader stuck for `stallTimeoutMs` loses its stream, so one stuck caller cannot hold the tunnel.
 * Exec stdin goes the other way under credit (_stdin_window.ts): within the window the worker
 * offered in its first message, plus what it gave back as its process took stdin; a caller waits
 * for {@link TunnelStream.writeStdin} before it reads more, so a process that does not read holds
 * back its own caller and not the tunnel. A worker that offers no window (older versions) gets
 * stdin unmetered, as before.
 * Only the leader accepts tunnels (it holds the worker sessions); on losing leadership every
 * tunnel is dropped and the workers reconnect to the new leader.
 * @module
 */
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import type * as wire from "../../proto/gen/warren.ts";
import type { TerminalSize, TunnelDown, TunnelUp } from "../../proto/schema/mod.ts";
import {
  NotFoundError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  ValidationError,
  type WarrenError,
} from "../../proto/errors.ts";
import { logger } from "../../proto/log.ts";
import { toGrpcError } from "../../net/grpc/status.ts";
import type { ApiContext } from "./context.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { StdinWindow } from "./_stdin_window.ts";

/** Options of a {@link TunnelHub}. */
export interface TunnelHubOptions {
  /** Ping period on every tunnel. Default 5,000 ms. */
  pingIntervalMs?: number;
  /** A tunnel without any message for this long is dropped. Default 20,000 ms. */
  idleTimeoutMs?: number;
  /** Messages a stream's reader may lag before the tunnel pauses. Default 256. */
  highWater?: number;
  /** A paused tunnel gives up on the lagging stream after this long. Default 30,000 ms. */
  stallTimeoutMs?: number;
}

/** One request's stream over a tunnel. */
export interface TunnelStream {
  /** The worker's answers; ends after `end`, throws after `error` or a dropped tunnel. */
  readonly messages: AsyncQueue<TunnelUp>;
  /**
   * Sends stdin within the worker's window; resolves once all of it went down the tunnel or the
   * stream ended. Await it before taking more from the caller: that is the backpressure.
   */
  writeStdin(data: Uint8Array): Promise<void>;
  /** Sends a resize, or closes stdin (after the stdin written before). */
  send(m: { resize: TerminalSize } | { closeStdin: true }): void;
  /** Tells the worker to stop and forgets the stream. Idempotent. */
  cancel(): void;
}

type DuplexCall = ServerDuplexStream<wire.TunnelUp, wire.TunnelDown>;

/** A stream as the hub keeps it: the worker's answers, and its stdin under credit. */
interface HubStream {
  queue: AsyncQueue<TunnelUp>;
  stdin: StdinWindow;
}

interface Tunnel {
  nodeId: string;
  call: DuplexCall;
  /** The stdin window the worker offered per exec stream; absent: unmetered (older worker). */
  stdinWindowBytes: number | undefined;
  streams: Map<number, HubStream>;
  nextId: number;
  lastSeen: number;
  paused: ReturnType<typeof setTimeout> | undefined;
  drop(err: WarrenError): void;
}

const DOWN_DEFAULTS = {
  closeStdin: false,
  cancel: false,
  ping: false,
  stdinCredits: false,
} as const;

/** Worker tunnels held by this manager. See the module doc. */
export class TunnelHub {
  readonly #ctx: ApiContext;
  readonly #o: Required<TunnelHubOptions>;
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #waiters = new Set<() => void>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #log = logger("tunnels");

  constructor(ctx: ApiContext, opts: TunnelHubOptions = {}) {
    this.#ctx = ctx;
    this.#o = {
      pingIntervalMs: opts.pingIntervalMs ?? 5_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 20_000,
      highWater: opts.highWater ?? 256,
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
    };
  }

  /** Whether `nodeId` has a tunnel to this manager. */
  has(nodeId: string): boolean {
    return this.#tunnels.has(nodeId);
  }

  /** Node IDs with a tunnel here. */
  get nodeIds(): string[] {
    return [...this.#tunnels.keys()];
  }

  /** Resolves true once `nodeId` has a tunnel here, false after `timeoutMs`. */
  async waitFor(nodeId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.has(nodeId)) {
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.#waiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.#waiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
    return true;
  }

  /** Serves one worker's TunnelService.Open call; `authorize` checks the named node. */
  accept(call: DuplexCall, authorize: (nodeId: string) => void): void {
    let tunnel: Tunnel | undefined;
    const fail = (err: unknown) => {
      if (tunnel) tunnel.drop(err as WarrenError);
      else call.emit("error", toGrpcError(err));
    };
    call.on("data", (raw: wire.TunnelUp) => {
      try {
        const m = codecs.TunnelUp.fromWire(raw, "tunnel");
        if (tunnel) {
          tunnel.lastSeen = Date.now();
          this.#route(tunnel, m);
          return;
        }
        if (m.streamId !== 0 || m.nodeId === undefined) {
          throw new ValidationError("nodeId", "the first tunnel message must name the node");
        }
        authorize(m.nodeId);
        tunnel = this.#open(call, m.nodeId, m.stdinWindow);
      } catch (err) {
        fail(err);
      }
    });
    const gone = () => tunnel?.drop(new UnavailableError("the worker closed its tunnel"));
    call.on("end", gone);
    call.on("cancelled", gone);
    call.on("close", gone);
    call.on("error", () => gone());
  }

  /**
   * Opens a stream to `nodeId` with its first request (`logs` or `exec`).
   * @throws UnavailableError when the node has no tunnel here
   */
  open(nodeId: string, first: Pick<TunnelDown, "logs" | "exec">): TunnelStream {
    const t = this.#tunnels.get(nodeId);
    if (!t) throw new UnavailableError(`node "${nodeId}" has no tunnel to this manager`);
    const id = t.nextId;
    t.nextId = t.nextId >= 0xffff_fff0 ? 1 : t.nextId + 1;
    const queue = new AsyncQueue<TunnelUp>();
    const write = (m: TunnelDown) => {
      if (this.#tunnels.get(nodeId) === t) t.call.write(codecs.TunnelDown.toWire(m));
    };
    const stdin = new StdinWindow(t.stdinWindowBytes, {
      stdin: (chunk) => write({ ...DOWN_DEFAULTS, stdin: chunk, streamId: id }),
      closeStdin: () => write({ ...DOWN_DEFAULTS, closeStdin: true, streamId: id }),
    });
    const s: HubStream = { queue, stdin };
    t.streams.set(id, s);
    write({ ...DOWN_DEFAULTS, ...first, streamId: id });
    let cancelled = false;
    return {
      messages: queue,
      writeStdin: (data) => queue.done ? Promise.resolve() : stdin.write(data),
      send: (m) => {
        if (queue.done) return;
        if ("closeStdin" in m) stdin.closeStdin();
        else write({ ...DOWN_DEFAULTS, resize: m.resize, streamId: id });
      },
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        const live = t.streams.get(id) === s;
        t.streams.delete(id);
        queue.close();
        stdin.end();
        if (live) write({ ...DOWN_DEFAULTS, cancel: true, streamId: id });
        this.#maybeResume(t);
      },
    };
  }

  /** Drops every tunnel (streams fail with UNAVAILABLE) and stops the timers. */
  close(): void {
    for (const t of [...this.#tunnels.values()]) {
      t.drop(new UnavailableError("this manager is stopping"));
    }
    this.#stopTimers();
  }

  #open(call: DuplexCall, nodeId: string, stdinWindowBytes: number | undefined): Tunnel {
    const l = this.#ctx.raft.leader;
    if (!l.isLeader) throw new NotLeaderError(l.leaderId || undefined);
    if (!this.#ctx.store.state.nodes.has(nodeId)) {
      throw new NotFoundError("node", nodeId);
    }
    this.#tunnels.get(nodeId)?.drop(new UnavailableError("replaced by a newer tunnel"));
    let dropped = false;
    const t: Tunnel = {
      nodeId,
      call,
      stdinWindowBytes,
      streams: new Map(),
      nextId: 1,
      lastSeen: Date.now(),
      paused: undefined,
      drop: (err) => {
        if (dropped) return;
        dropped = true;
        clearTimeout(t.paused);
        if (this.#tunnels.get(nodeId) === t) this.#tunnels.delete(nodeId);
        const reason = new UnavailableError(
          `lost the tunnel to node "${nodeId}": ${err.message}`,
          { cause: err },
        );
        for (const s of t.streams.values()) {
          s.queue.fail(reason);
          s.stdin.end();
        }
        t.streams.clear();
        try {
          call.emit("error", toGrpcError(err));
        } catch { /* already ended */ }
        if (this.#tunnels.size === 0) this.#stopTimers();
      },
    };
    this.#tunnels.set(nodeId, t);
    this.#startTimers();
    // The first ping tells the worker its tunnel is accepted, and that stdin keeps to its window.
    call.write(
      codecs.TunnelDown.toWire({ ...DOWN_DEFAULTS, streamId: 0, ping: true, stdinCredits: true }),
    );
    for (const w of [...this.#waiters]) w();
    this.#log.debug("tunnel opened", { node: nodeId });
    return t;
  }

  #route(t: Tunnel, m: TunnelUp): void {
    if (m.streamId === 0) return; // pong: lastSeen is all it is for
    const s = t.streams.get(m.streamId);
    if (!s) return; // cancelled here already; late messages are dropped
    if (m.stdinCredit !== undefined) {
      s.stdin.credit(m.stdinCredit);
      if (!hasAnswer(m)) return; // the caller has no use for credit
    }
    const q = s.queue;
    q.push(m);
    if (m.end || m.error) {
      t.streams.delete(m.streamId);
      q.close();
      s.stdin.end();
      return;
    }
    if (q.size >= this.#o.highWater && t.paused === undefined) {
      t.call.pause();
      t.paused = setTimeout(() => {
        q.fail(new ResourceExhaustedError("the caller reads too slowly: stream dropped"));
        s.stdin.end();
        t.streams.delete(m.streamId);
        t.call.write(
          codecs.TunnelDown.toWire({ ...DOWN_DEFAULTS, cancel: true, streamId: m.streamId }),
        );
        this.#resume(t);
      }, this.#o.stallTimeoutMs);
      q.onDrain(() => this.#resume(t));
    }
  }

  #maybeResume(t: Tunnel): void {
    if (t.paused === undefined) return;
    for (const s of t.streams.values()) if (s.queue.size >= this.#o.highWater) return;
    this.#resume(t);
  }

  #resume(t: Tunnel): void {
    if (t.paused === undefined) return;
    clearTimeout(t.paused);
    t.paused = undefined;
    t.lastSeen = Date.now(); // no messages arrive while paused: not idleness
    t.call.resume();
  }

  #startTimers(): void {
    this.#unsubscribe ??= this.#ctx.raft.onLeaderChange((l) => {
      if (l.isLeader) return;
      for (const t of [...this.#tunnels.values()]) {
        t.drop(new NotLeaderError(l.leaderId || undefined));
      }
    });
    this.#ticker ??= setInterval(() => {
      const now = Date.now();
      for (const t of [...this.#tunnels.values()]) {
        if (t.paused === undefined && now - t.lastSeen > this.#o.idleTimeoutMs) {
          t.drop(new UnavailableError(`no word from the worker for ${this.#o.idleTimeoutMs} ms`));
          continue;
        }
        t.call.write(codecs.TunnelDown.toWire({ ...DOWN_DEFAULTS, streamId: 0, ping: true }));
      }
    }, this.#o.pingIntervalMs);
  }

  #stopTimers(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

/** Whether `m` carries anything for the caller (not only credit). */
function hasAnswer(m: TunnelUp): boolean {
  return m.lines.length > 0 || m.stdout !== undefined || m.stderr !== undefined ||
    m.exitCode !== undefined || m.end || m.error !== undefined;
}

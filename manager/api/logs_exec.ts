/**
 * TaskService.Logs and TaskService.Exec, served through the worker tunnels (tunnel_hub.ts), and
 * the TunnelService the workers open them with.
 *
 * ```
 *  client ─▶ any manager ──(follower: forwards the call as is)──▶ leader
 *                                   leader: resolve tasks ─▶ hub.open(node) ─▶ worker tunnel
 * ```
 *
 * Logs of a service fan in the streams of all its tasks (each message carries the task's name
 * and node); following a service also picks up the tasks it starts later. A follow stream never
 * hangs: it ends when every task's stream ended (the worker ends it once the container has
 * exited) and the service runs nothing more, when a task is gone or terminal for `endGraceMs`
 * (checked every `checkMs`, a backstop), or fails when a tunnel drops; while idle it sends a
 * keepalive every `keepaliveMs` so the caller can tell a quiet stream from a dead one.
 * @module
 */
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  ServerDuplexStream,
  ServiceError,
} from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";
import {
  FailedPreconditionError,
  UnavailableError,
  ValidationError,
  type WarrenError,
  warrenErrorFromCode,
} from "../../proto/errors.ts";
import type {
  ExecStart,
  Task,
  TaskLogsMessage,
  TaskLogsRequest,
  TunnelUp,
} from "../../proto/schema/mod.ts";
import { type CallObserver, drained, serverStream } from "../../net/grpc/adapter.ts";
import { fromGrpcError, toGrpcError } from "../../net/grpc/status.ts";
import type { HostedService } from "../../net/grpc/server.ts";
import type { CallWithAuth } from "../../net/grpc/tls.ts";
import { type ClusterState, tasksOfService } from "../state/fsm_state.ts";
import { isTerminal } from "../../proto/schema/mod.ts";
import { type ApiContext, readBarrier, resolve } from "./context.ts";
import type { Guard } from "./authz.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { LeaderChannel } from "./_leader_channel.ts";
import { displayName, nodeName, resolveTaskRef } from "./_task_ref.ts";
import { TunnelHub, type TunnelHubOptions, type TunnelStream } from "./tunnel_hub.ts";

/** Options of {@link logsExecServices}. */
export interface LogsExecOptions {
  guard: Guard;
  observe?: CallObserver;
  /** Mutual TLS in use (followers then forward with a manager certificate). */
  secure: boolean;
  /** How long the leader waits for a node's tunnel (a worker reconnecting). Default 3,000 ms. */
  tunnelWaitMs?: number;
  /** Keepalive period of an idle logs or exec stream. Default 10,000 ms. */
  keepaliveMs?: number;
  /** Period of the follow backstop check. Default 1,000 ms. */
  checkMs?: number;
  /** A followed task gone or terminal this long is no longer followed. Default 5,000 ms. */
  endGraceMs?: number;
  hub?: TunnelHubOptions;
}

/** The handlers and the tunnel service; `hub` is exposed for tests and metrics. */
export interface LogsExecServices {
  hub: TunnelHub;
  /** TaskService methods to add to its implementation. */
  taskMethods: {
    logs: handleServerStreamingCall<wire.TaskLogsRequest, wire.TaskLogsMessage>;
    exec: handleBidiStreamingCall<wire.ExecInput, wire.ExecOutput>;
  };
  /** TunnelService (workers open their tunnel here). */
  tunnel: HostedService;
}

type ExecCall = ServerDuplexStream<wire.ExecInput, wire.ExecOutput>;
type TunnelCall = ServerDuplexStream<wire.TunnelUp, wire.TunnelDown>;

/** Caller exec messages buffered before its call is paused. */
const INPUTS_HIGH_WATER = 4;

/** Builds TaskService.Logs/Exec and TunnelService for one manager. */
export function logsExecServices(ctx: ApiContext, opts: LogsExecOptions): LogsExecServices {
  const o = {
    tunnelWaitMs: opts.tunnelWaitMs ?? 3_000,
    keepaliveMs: opts.keepaliveMs ?? 10_000,
    checkMs: opts.checkMs ?? 1_000,
    endGraceMs: opts.endGraceMs ?? 5_000,
  };
  const hub = new TunnelHub(ctx, opts.hub);
  const leader = new LeaderChannel(ctx, { secure: opts.secure });
  const isLeader = () => ctx.raft.leader.isLeader;

  /** Opens a stream to the task's node, waiting briefly for its tunnel. */
  const openOn = async (t: Task, first: Parameters<TunnelHub["open"]>[1], signal?: AbortSignal) => {
    if (t.nodeId === undefined) {
      throw new FailedPreconditionError(`task ${t.id} is not placed on a node yet`);
    }
    if (!(await hub.waitFor(t.nodeId, o.tunnelWaitMs, signal))) {
      throw new UnavailableError(
        `node "${nodeName(ctx.store.state as ClusterState, t)}" has no tunnel to the leader: ` +
          "is its worker running and connected?",
      );
    }
    return hub.open(t.nodeId, first);
  };

  async function* leaderLogs(req: TaskLogsRequest, signal: AbortSignal) {
    const s = await readBarrier(ctx, false);
    const serviceId = req.taskId === undefined
      ? resolve(s.services, s.serviceIdByName, req.serviceId!, "service").id
      : undefined;
    const tasks = serviceId === undefined
      ? [resolveTaskRef(s, req.taskId!)]
      : tasksOfService(s, serviceId)
        .filter((t) => t.nodeId !== undefined && t.status.state !== "pending");
    const out = new AsyncQueue<TaskLogsMessage>();
    // Following a service also follows the tasks it starts later (scale up, restarts, updates),
    // as `docker service logs -f` does; it ends once no stream is open and the service is gone
    // or runs nothing any more.
    const followService = req.follow && serviceId !== undefined;
    const serviceRuns = () => {
      const now = ctx.store.state as ClusterState;
      return now.services.has(serviceId!) &&
        tasksOfService(now, serviceId!).some((t) => !isTerminal(t.desiredState));
    };
    const pumped = new Set<string>();
    const pumps: Promise<void>[] = [];
    let open = 0;
    const maybeEnd = () => {
      if (open === 0 && !(followService && serviceRuns())) out.close();
    };
    const start = (t: Task) => {
      pumped.add(t.id);
      open++;
      pumps.push(
        pumpTask(t, req, out, signal).finally(() => {
          open--;
          maybeEnd();
        }),
      );
    };
    for (const t of tasks) start(t);
    const stopWatching = followService
      ? ctx.store.onApplied((_index, changes) => {
        for (const c of changes) {
          if (c.kind !== "task" || c.task.serviceId !== serviceId || pumped.has(c.task.id)) {
            continue;
          }
          // Once it has (or had) a container: earlier, the worker has no logs to stream yet.
          const state = c.task.status.state;
          if (c.task.nodeId !== undefined && (state === "running" || isTerminal(state))) {
            start(c.task);
          }
        }
        maybeEnd();
      })
      : () => {};
    maybeEnd();
    let keepalive = setTimeout(function tick() {
      out.push(emptyMessage());
      keepalive = setTimeout(tick, o.keepaliveMs);
    }, o.keepaliveMs);
    try {
      for await (const m of out) {
        clearTimeout(keepalive);
        keepalive = setTimeout(function tick() {
          out.push(emptyMessage());
          keepalive = setTimeout(tick, o.keepaliveMs);
        }, o.keepaliveMs);
        yield m;
      }
    } finally {
      stopWatching();
      clearTimeout(keepalive);
      out.close();
      await Promise.allSettled(pumps);
    }
  }

  /** Copies one task's lines into `out`; a single-task request fails on errors, else notices. */
  async function pumpTask(
    t: Task,
    req: TaskLogsRequest,
    out: AsyncQueue<TaskLogsMessage>,
    signal: AbortSignal,
  ): Promise<void> {
    const s = ctx.store.state as ClusterState;
    const head = { taskId: t.id, taskName: displayName(s, t), nodeName: nodeName(s, t) };
    let stream: TunnelStream | undefined;
    let watchdog: ReturnType<typeof setInterval> | undefined;
    const onAbort = () => stream?.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      stream = await openOn(t, {
        logs: {
          taskId: t.id,
          follow: req.follow,
          ...(req.tail !== undefined ? { tail: req.tail } : {}),
          ...(req.since !== undefined ? { since: req.since } : {}),
        },
      }, signal);
      if (signal.aborted) stream.cancel();
      if (req.follow) watchdog = followBackstop(t.id, stream);
      for await (const up of stream.messages) {
        if (up.error) throw tunnelError(up);
        if (up.lines.length > 0) out.push({ ...head, lines: up.lines, notices: [] });
        // Backpressure: stop reading the tunnel while the caller lags.
        if (out.size > 64) await new Promise<void>((r) => out.onDrain(r));
      }
    } catch (err) {
      if (signal.aborted) return;
      const e = err as WarrenError;
      if (req.taskId !== undefined) return out.fail(e);
      const current = (ctx.store.state as ClusterState).tasks.get(t.id);
      // A finished task whose container is gone has no logs any more: not worth a notice.
      if (e.code === "not_found" && (!current || isTerminal(current.status.state))) return;
      out.push({ ...head, lines: [], notices: [`no logs from ${head.taskName}: ${e.message}`] });
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener("abort", onAbort);
      stream?.cancel();
    }
  }

  /** Ends a followed stream once its task is gone or terminal for `endGraceMs`. */
  function followBackstop(taskId: string, stream: TunnelStream) {
    let endedAt: number | undefined;
    return setInterval(() => {
      const t = (ctx.store.state as ClusterState).tasks.get(taskId);
      if (t && !isTerminal(t.status.state)) {
        endedAt = undefined;
        return;
      }
      endedAt ??= Date.now();
      if (Date.now() - endedAt >= o.endGraceMs) stream.cancel();
    }, o.checkMs);
  }

  async function* forwardLogs(raw: wire.TaskLogsRequest, signal: AbortSignal) {
    const client = await leader.client();
    const call = client.makeServerStreamRequest(
      wire.TaskServiceService.logs.path,
      wire.TaskServiceService.logs.requestSerialize,
      wire.TaskServiceService.logs.responseDeserialize,
      raw,
    );
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for await (const m of call as AsyncIterable<wire.TaskLogsMessage>) yield m;
    } catch (err) {
      throw isServiceError(err) ? fromGrpcError(err) : err;
    } finally {
      signal.removeEventListener("abort", cancel);
      call.cancel();
    }
  }

  const logs = serverStream(
    "TaskService/Logs",
    async function* (r: wire.TaskLogsRequest, signal, call) {
      opts.guard(call as unknown as CallWithAuth, "TaskService/Logs");
      const req = codecs.TaskLogsRequest.fromWire(r);
      if (!isLeader()) {
        yield* forwardLogs(r, signal);
        return;
      }
      for await (const m of leaderLogs(req, signal)) yield codecs.TaskLogsMessage.toWire(m);
    },
    opts.observe,
  );

  const exec = (call: ExecCall) => {
    const t0 = performance.now();
    const finish = (err?: unknown) => {
      const code = err === undefined
        ? "ok"
        : String(toGrpcError(err).metadata?.get("warren-error-code")[0]);
      opts.observe?.("TaskService/Exec", performance.now() - t0, code);
    };
    try {
      opts.guard(call as unknown as CallWithAuth, "TaskService/Exec");
    } catch (err) {
      finish(err);
      call.emit("error", toGrpcError(err));
      return;
    }
    // Buffer the caller's messages from the start: stdin may arrive while the task is resolved.
    // Bounded: while `INPUTS_HIGH_WATER` wait (their stdin waits for the worker's credit), the
    // call is paused, so HTTP/2 flow control holds the caller back instead of memory here.
    const inputs = new AsyncQueue<wire.ExecInput>();
    let paused = false;
    call.on("data", (m: wire.ExecInput) => {
      inputs.push(m);
      if (paused || inputs.size < INPUTS_HIGH_WATER) return;
      paused = true;
      call.pause();
      inputs.onDrain(() => {
        paused = false;
        call.resume();
      });
    });
    call.on("end", () => inputs.close());
    call.on("cancelled", () => inputs.close());
    const run = async () => {
      const first = await inputs.next();
      if (first === undefined) return;
      await (isLeader() ? serveExec(call, first, inputs) : forwardExec(call, first, inputs));
    };
    run().then(() => finish(), (err) => {
      finish(err);
      call.emit("error", isServiceError(err) ? err : toGrpcError(err));
    });
  };

  async function serveExec(
    call: ExecCall,
    first: wire.ExecInput,
    inputs: AsyncQueue<wire.ExecInput>,
  ): Promise<void> {
    const start = codecs.ExecInput.fromWire(first, "input").start;
    if (!start) throw new ValidationError("input.start", "the first exec message must be start");
    const s = await readBarrier(ctx, false);
    const task = resolveTaskRef(s, start.taskId);
    // A stopped task has no container to run the command in, and its worker no longer knows
    // it: say so here, rather than the worker's "not on node" (as `docker exec` says "is not
    // running").
    if (isTerminal(task.status.state)) {
      throw new FailedPreconditionError(
        `task ${displayName(s, task)} (${task.id}) is not running (${task.status.state}): ` +
          "exec needs a running task; 'warren service ps' shows which one runs now",
      );
    }
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort());
    const execStart: ExecStart = { ...start, taskId: task.id };
    const stream = await openOn(task, { exec: execStart }, ac.signal);
    ac.signal.addEventListener("abort", () => stream.cancel(), { once: true });
    void (async () => {
      try {
        for await (const raw of inputs) {
          const m = codecs.ExecInput.fromWire(raw, "input");
          // Within the worker's stdin window: the next message waits (and so, past a few, the
          // caller) until the process takes what it was sent.
          if (m.stdin) await stream.writeStdin(m.stdin);
          if (m.resize) stream.send({ resize: m.resize });
          if (m.closeStdin) stream.send({ closeStdin: true });
        }
        stream.send({ closeStdin: true });
      } catch (err) {
        stream.cancel();
        call.emit("error", toGrpcError(err));
      }
    })();
    let exitCode: number | undefined;
    try {
      for await (const up of stream.messages) {
        if (up.error) throw tunnelError(up);
        if (up.stdout || up.stderr) {
          const ok = call.write(
            codecs.ExecOutput.toWire({
              ...(up.stdout ? { stdout: up.stdout } : {}),
              ...(up.stderr ? { stderr: up.stderr } : {}),
            }),
          );
          if (!ok) await drained(call, ac.signal);
        }
        if (up.exitCode !== undefined) exitCode = up.exitCode;
      }
    } finally {
      stream.cancel();
      inputs.close(); // the exec is over: what the caller still sends is not read
    }
    if (ac.signal.aborted) return;
    if (exitCode === undefined) {
      throw new UnavailableError(`the exec in task ${task.id} ended without an exit code`);
    }
    call.write(codecs.ExecOutput.toWire({ exitCode }));
    call.end();
  }

  async function forwardExec(
    call: ExecCall,
    first: wire.ExecInput,
    inputs: AsyncQueue<wire.ExecInput>,
  ): Promise<void> {
    const client = await leader.client();
    const m = wire.TaskServiceService.exec;
    const up = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    up.write(first);
    const over = new AbortController();
    call.on("cancelled", () => up.cancel());
    void (async () => {
      // Backpressure: the leader's flow control holds back this loop, and so the caller.
      for await (const x of inputs) if (!up.write(x)) await drained(up, over.signal);
      up.end();
    })();
    await new Promise<void>((resolve, reject) => {
      // Backpressure: a slow client pauses the leader's stream instead of this manager
      // buffering everything the process writes.
      up.on("data", (x: wire.ExecOutput) => {
        if (!call.write(x)) {
          up.pause();
          call.once("drain", () => up.resume());
        }
      });
      up.on("error", reject);
      up.on("end", () => {
        call.end();
        resolve();
      });
    }).finally(() => {
      over.abort();
      inputs.close();
    });
  }

  const tunnel: HostedService = {
    definition: wire.TunnelServiceService,
    implementation: {
      open: (call: TunnelCall) => {
        try {
          opts.guard(call as unknown as CallWithAuth, "TunnelService/Open");
        } catch (err) {
          call.emit("error", toGrpcError(err));
          return;
        }
        hub.accept(call, (nodeId) => {
          opts.guard(call as unknown as CallWithAuth, "TunnelService/Open", nodeId);
        });
      },
    },
  };

  return { hub, taskMethods: { logs, exec }, tunnel };
}

function emptyMessage(): TaskLogsMessage {
  return { taskId: "", taskName: "", nodeName: "", lines: [], notices: [] };
}

const CODES = new Set<string>([
  "invalid_argument",
  "not_found",
  "already_exists",
  "failed_precondition",
  "unavailable",
  "not_leader",
  "permission_denied",
  "unauthenticated",
  "resource_exhausted",
  "deadline_exceeded",
  "internal",
]);

/** The typed error a worker sent over the tunnel (an unknown code is `internal`). */
function tunnelError(up: TunnelUp): WarrenError {
  const e = up.error!;
  const code = CODES.has(e.code) ? e.code as WarrenError["code"] : "internal";
  return warrenErrorFromCode(code, e.message);
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === "object" && err !== null && "code" in err &&
    typeof (err as { code: unknown }).code === "number" && "metadata" in err;
}

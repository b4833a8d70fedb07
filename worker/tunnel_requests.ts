/**
 * The requests a worker serves over its tunnel (tunnel.ts): a task's logs and an exec in a task.
 * Each answers on its own stream ID and ends with `end` (logs), an exit code (exec) or a typed
 * `error`. Log lines go up in batches: a batch is sent when it holds `BATCH_LINES` lines or
 * `BATCH_BYTES` bytes, or `BATCH_MS` after its first line, so a busy task costs few messages and
 * a quiet one no delay worth noticing.
 * @module
 */
import {
  FailedPreconditionError,
  toWarrenError,
  ValidationError,
  warrenErrorFromCode,
} from "../proto/errors.ts";
import {
  type ExecStart,
  isTerminal,
  type LogLine,
  type TerminalSize,
  type TunnelDown,
  type TunnelLogsRequest,
  type TunnelUp,
} from "../proto/schema/mod.ts";
import type { ExecSession } from "../runtime/runtime.ts";
import { ExecStdin } from "./exec_stdin.ts";
import type { Worker } from "./worker.ts";

/** Sends one message up the tunnel; resolves once it is buffered (flow control). */
export type UpSender = (up: TunnelUp) => Promise<void>;

/** A request being served. */
export interface TunnelRequest {
  /** stdin, close-stdin or resize for an exec. */
  input(down: TunnelDown): void;
  /** Stops serving (the caller went away or the tunnel dropped). */
  cancel(): void;
  /** Exec stdin received that its process has not taken yet (0 for logs). */
  readonly stdinBufferedBytes: number;
}

/** What a request needs from the tunnel. */
export interface RequestEnv {
  worker: Worker;
  streamId: number;
  send: UpSender;
  /** A followed task gone or terminal this long ends its stream. */
  endGraceMs: number;
  /**
   * The stdin window the leader keeps to on every exec stream (exec_stdin.ts); absent when it
   * did not accept credits (an older leader): stdin is then unmetered.
   */
  stdinWindowBytes?: number;
  /** Called once the request is finished. */
  done(): void;
}

const BATCH_LINES = 500;
const BATCH_BYTES = 256 * 1024;
const BATCH_MS = 20;
const CHUNK_BYTES = 256 * 1024;

const up = (streamId: number, m: Partial<TunnelUp>): TunnelUp => ({
  streamId,
  lines: [],
  end: false,
  pong: false,
  ...m,
});

/** Sends `err` as the stream's typed error. */
function sendError(env: RequestEnv, err: unknown): Promise<void> {
  const e = toWarrenError(err);
  return env.send(up(env.streamId, { error: { code: e.code, message: e.message } }));
}

function runnerOf(env: RequestEnv, taskId: string) {
  const r = env.worker.runner(taskId);
  if (!r) {
    throw warrenErrorFromCode("not_found", `task ${taskId} is not on node ${env.worker.nodeId}`);
  }
  return r;
}

/** Streams a task's log lines (see the module doc). */
export function serveLogs(env: RequestEnv, req: TunnelLogsRequest): TunnelRequest {
  const ac = new AbortController();
  let watchdog: ReturnType<typeof setInterval> | undefined;
  void (async () => {
    let batch: LogLine[] = [];
    let bytes = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sending: Promise<void> = Promise.resolve();
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (batch.length === 0) return sending;
      const lines = batch;
      batch = [];
      bytes = 0;
      sending = sending.then(() => env.send(up(env.streamId, { lines })));
      return sending;
    };
    try {
      const options = {
        follow: req.follow,
        ...(req.tail !== undefined ? { tail: req.tail } : {}),
        ...(req.since !== undefined ? { since: new Date(req.since) } : {}),
        signal: ac.signal,
      };
      // A task whose container is gone: what the node kept of its output, if anything.
      const ended = env.worker.runner(req.taskId)
        ? undefined
        : await env.worker.endedTaskLogs(req.taskId, options);
      if (!ended) runnerOf(env, req.taskId);
      if (req.follow && !ended) watchdog = followBackstop(env, req.taskId, ac);
      const entries = ended ?? env.worker.runtime.logs(req.taskId, options);
      for await (const e of entries) {
        if (ac.signal.aborted) break;
        batch.push({ stream: e.stream, line: e.line, timestamp: e.ts.getTime() });
        bytes += e.line.length + 16;
        if (batch.length >= BATCH_LINES || bytes >= BATCH_BYTES) await flush();
        else timer ??= setTimeout(() => void flush(), BATCH_MS);
      }
      await flush();
      if (!ac.signal.aborted) await env.send(up(env.streamId, { end: true }));
    } catch (err) {
      clearTimeout(timer);
      if (!ac.signal.aborted) await sendError(env, err).catch(() => {});
    } finally {
      clearInterval(watchdog);
      env.done();
    }
  })();
  return {
    input: () => {},
    cancel: () => ac.abort(),
    stdinBufferedBytes: 0,
  };
}

/** Ends a follow once the task is gone from the worker or terminal for `endGraceMs`. */
function followBackstop(env: RequestEnv, taskId: string, ac: AbortController) {
  let endedAt: number | undefined;
  return setInterval(() => {
    const r = env.worker.runner(taskId);
    if (r && !isTerminal(r.status.state)) {
      endedAt = undefined;
      return;
    }
    endedAt ??= Date.now();
    if (Date.now() - endedAt >= env.endGraceMs) ac.abort();
  }, Math.max(100, Math.min(1_000, env.endGraceMs / 3)));
}

/**
 * Runs a command in a task and streams its output, then its exit code. Its stdin is metered by
 * the leader's window (exec_stdin.ts); a leader that overruns it fails the stream.
 */
export function serveExec(env: RequestEnv, start: ExecStart): TunnelRequest {
  let session: ExecSession | undefined;
  let cancelled = false;
  const pendingResizes: TerminalSize[] = [];
  const stdin = new ExecStdin({
    ...(env.stdinWindowBytes !== undefined ? { windowBytes: env.stdinWindowBytes } : {}),
    credit: (n) => void env.send(up(env.streamId, { stdinCredit: n })),
  });
  const resize = (size: TerminalSize) => {
    if (start.tty) void session!.resize(size.cols, size.rows).catch(() => {});
  };
  const cancel = () => {
    if (cancelled) return;
    cancelled = true;
    stdin.stop();
    void session?.kill("SIGKILL").catch(() => {});
  };
  void (async () => {
    try {
      const r = runnerOf(env, start.taskId);
      if (r.status.state !== "running") {
        throw new FailedPreconditionError(
          `task ${start.taskId} is not running (it is ${r.status.state})`,
        );
      }
      if (start.command.length === 0) throw new ValidationError("command", "is required");
      session = await env.worker.runtime.execStream(start.taskId, {
        cmd: start.command,
        tty: start.tty,
        ...(start.env.length > 0 ? { env: start.env } : {}),
        ...(start.workdir !== undefined ? { cwd: start.workdir } : {}),
        ...(start.user !== undefined ? { user: start.user } : {}),
        ...(start.tty && start.size ? { size: start.size } : {}),
      });
      if (cancelled) {
        await session.kill("SIGKILL").catch(() => {});
        return;
      }
      if (!start.stdin) stdin.close();
      stdin.attach(session.stdin.getWriter());
      for (const size of pendingResizes.splice(0)) resize(size);
      const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
        for await (const chunk of stream) {
          for (let i = 0; i < chunk.byteLength; i += CHUNK_BYTES) {
            await env.send(up(env.streamId, { [key]: chunk.subarray(i, i + CHUNK_BYTES) }));
          }
        }
      };
      const [exitCode] = await Promise.all([
        session.exited,
        pump(session.stdout, "stdout"),
        pump(session.stderr, "stderr"),
      ]);
      if (!cancelled) await env.send(up(env.streamId, { exitCode, end: true }));
    } catch (err) {
      if (!cancelled) await sendError(env, err).catch(() => {});
    } finally {
      stdin.stop();
      env.done();
    }
  })();
  return {
    input: (down) => {
      if (cancelled) return;
      if (down.stdin) {
        try {
          stdin.write(down.stdin);
        } catch (err) {
          cancel();
          void sendError(env, err).catch(() => {});
          return;
        }
      }
      if (down.resize) {
        if (session) resize(down.resize);
        else pendingResizes.push(down.resize);
      }
      if (down.closeStdin) stdin.close();
    },
    cancel,
    get stdinBufferedBytes() {
      return stdin.bufferedBytes;
    },
  };
}

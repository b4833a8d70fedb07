/**
 * TaskService.Logs and TaskService.Exec for WarrenClient, with domain types in and out.
 *
 * Logs: an AsyncIterable of batches of lines. The manager sends a keepalive while a follow is
 * idle; the iterable fails with UNAVAILABLE when nothing at all arrived for `idleTimeoutMs`, so
 * a dead connection never leaves the caller hanging. Before the first message, an unavailable
 * manager is skipped for the next one.
 *
 * Exec: resolves with the command's exit code once its output has been delivered.
 * @module
 */
import type { ClientDuplexStream, ServiceError } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import { UnavailableError, WarrenError } from "../../proto/errors.ts";
import * as w from "../../proto/gen/warren.ts";
import * as d from "../../proto/schema/mod.ts";
import { drained } from "../grpc/adapter.ts";
import { fromGrpcError } from "../grpc/status.ts";
import { isFailover, type ManagerPool } from "./manager_pool.ts";

/** Options of a logs call. */
export interface LogsOptions {
  /** A task (ID or SERVICE.SLOT); give this or `serviceId`. */
  taskId?: string;
  /** A service (ID or name): all its tasks. */
  serviceId?: string;
  /** Keep streaming until the tasks end (a service: and it starts no more). */
  follow?: boolean;
  /** Only the last `tail` lines of each task. */
  tail?: number;
  /** Only lines at or after this time (ms since the epoch). */
  since?: number;
  /** Ends the stream (the iterable completes without an error). */
  signal?: AbortSignal;
  /** Fail when nothing arrived for this long. Default 30,000 ms (keepalives come every 10 s). */
  idleTimeoutMs?: number;
}

/** Streams of one exec. */
export interface ExecIo {
  /** Input for the command; absent means its stdin is closed at once. */
  stdin?: ReadableStream<Uint8Array> | Uint8Array | string;
  /** Output chunks (with `tty`, everything arrives as stdout). */
  stdout?: (chunk: Uint8Array) => void | Promise<void>;
  stderr?: (chunk: Uint8Array) => void | Promise<void>;
  /** Terminal sizes to forward while the command runs (tty). */
  resizes?: AsyncIterable<d.TerminalSize>;
  /** Cancels the exec (the command is killed); the promise then rejects. */
  signal?: AbortSignal;
}

const decodeFail = (what: string, err: unknown) =>
  new WarrenError("internal", `the manager sent an invalid ${what}: ${(err as Error).message}`, {
    cause: err,
  });

/** TaskService.Logs through `pool`; skips keepalives. */
export async function* streamLogs(
  pool: ManagerPool,
  opts: LogsOptions,
): AsyncGenerator<d.TaskLogsMessage, void, undefined> {
  const req = d.parseOrThrow(d.TaskLogsRequestSchema, {
    taskId: opts.taskId,
    serviceId: opts.serviceId,
    follow: opts.follow,
    tail: opts.tail,
    since: opts.since,
  });
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  let i = pool.firstIndex();
  for (let attempt = 0;; attempt++) {
    const call = pool.serverStream(
      i,
      w.TaskServiceService.logs,
      codecs.TaskLogsRequest.toWire(req),
    );
    let idle = false;
    let timer = setTimeout(function expire() {
      idle = true;
      call.cancel();
    }, idleMs);
    const cancel = () => call.cancel();
    opts.signal?.addEventListener("abort", cancel, { once: true });
    let received = false;
    try {
      for await (const raw of call as AsyncIterable<w.TaskLogsMessage>) {
        received = true;
        clearTimeout(timer);
        timer = setTimeout(() => {
          idle = true;
          call.cancel();
        }, idleMs);
        let m: d.TaskLogsMessage;
        try {
          m = codecs.TaskLogsMessage.fromWire(raw, "logs");
        } catch (err) {
          throw decodeFail("log message", err);
        }
        if (m.lines.length > 0 || m.notices.length > 0) yield m;
      }
      return;
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (idle) {
        throw new UnavailableError(`no word from the manager for ${idleMs} ms: stream dropped`);
      }
      if (err instanceof WarrenError) throw err;
      const e = fromGrpcError(err as ServiceError);
      if (received || !isFailover(e) || attempt + 1 >= pool.maxAttempts) throw e;
      i = pool.nextAddress(i);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", cancel);
      call.cancel();
    }
  }
}

/** TaskService.Exec through `pool`; resolves with the exit code. */
export async function runExec(
  pool: ManagerPool,
  start: d.ExecStartInput,
  io: ExecIo = {},
): Promise<number> {
  const parsed = d.parseOrThrow(d.ExecStartSchema, { ...start, stdin: io.stdin !== undefined });
  const m = w.TaskServiceService.exec;
  const call: ClientDuplexStream<w.ExecInput, w.ExecOutput> = pool.client(pool.firstIndex())
    .makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
  const send = (input: d.ExecInput) => call.write(codecs.ExecInput.toWire(input));
  const base = { closeStdin: false };
  send({ ...base, start: parsed });
  let finished = false;
  const over = new AbortController();
  const cancel = () => call.cancel();
  io.signal?.addEventListener("abort", cancel, { once: true });
  // Backpressure: a full call (the command is not reading, so the leader and HTTP/2 hold back)
  // stops the pump until it drains; `over` ends the wait with the call.
  const sendStdin = async (input: d.ExecInput) => {
    if (!send(input)) await drained(call, over.signal);
  };
  void pumpStdin(io.stdin, sendStdin, () => finished).catch(() => {});
  if (io.resizes) {
    void (async () => {
      for await (const size of io.resizes!) {
        if (finished) return;
        send({ ...base, resize: size });
      }
    })().catch(() => {});
  }
  let exitCode: number | undefined;
  try {
    for await (const raw of call as AsyncIterable<w.ExecOutput>) {
      let out: d.ExecOutput;
      try {
        out = codecs.ExecOutput.fromWire(raw, "output");
      } catch (err) {
        throw decodeFail("exec output", err);
      }
      if (out.stdout) await io.stdout?.(out.stdout);
      if (out.stderr) await io.stderr?.(out.stderr);
      if (out.exitCode !== undefined) exitCode = out.exitCode;
    }
  } catch (err) {
    if (err instanceof WarrenError) throw err;
    if (io.signal?.aborted) throw new WarrenError("unavailable", "exec cancelled", { cause: err });
    throw fromGrpcError(err as ServiceError);
  } finally {
    finished = true;
    over.abort();
    io.signal?.removeEventListener("abort", cancel);
    call.end();
  }
  if (exitCode === undefined) throw new UnavailableError("the exec ended without an exit code");
  return exitCode;
}

/**
 * Sends the caller's stdin in chunks, then closes it; each send resolves once the call can take
 * more, so a stream is read no faster than the command takes its input.
 */
async function pumpStdin(
  stdin: ExecIo["stdin"],
  send: (input: d.ExecInput) => Promise<void>,
  finished: () => boolean,
): Promise<void> {
  if (stdin === undefined) return;
  const CHUNK = 64 * 1024;
  const base = { closeStdin: false };
  if (typeof stdin === "string" || stdin instanceof Uint8Array) {
    const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
    for (let i = 0; i < bytes.byteLength; i += CHUNK) {
      if (finished()) return;
      await send({ ...base, stdin: bytes.subarray(i, i + CHUNK) });
    }
  } else {
    for await (const chunk of stdin) {
      for (let i = 0; i < chunk.byteLength; i += CHUNK) {
        if (finished()) return;
        await send({ ...base, stdin: chunk.subarray(i, i + CHUNK) });
      }
    }
  }
  if (!finished()) await send({ closeStdin: true });
}

/**
 * Running an extra process in a running container (Tasks/Exec), with its stdin, stdout and
 * stderr connected through named pipes (fifos) in a private temp directory:
 *
 * ```
 * mkfifo in out err ─▶ open out/err for reading (pending) ─▶ Tasks/Exec(process spec as Any)
 *   ─▶ shim opens the fifos ─▶ Tasks/Wait (pending) ─▶ Tasks/Start ─▶ read to EOF
 *   ─▶ exit code ─▶ Tasks/DeleteProcess, remove the fifos
 * ```
 *
 * The shim keeps its own write handle on the stdin fifo, so end of input is signalled with
 * Tasks/CloseIO after our end is closed. The process spec is the container's own (from its runtime spec) with the args, env, cwd and
 * user of the exec replaced, as `ctr task exec` does.
 */
import { FailedPreconditionError } from "../../proto/errors.ts";
import type { ExecOptions, ExecResult, ExecSession, Signal } from "../runtime.ts";
import { signalNumber } from "../runtime.ts";
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import { fifoWritable } from "./fifo_writable.ts";
import { mergeEnv, type RuntimeSpec } from "./spec.ts";
import type { ProcessUser } from "./user.ts";

/** Type URL of an OCI process spec carried as JSON in an Any. */
export const PROCESS_SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: ["-m", "0600", path], stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`mkfifo ${path}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Unblocks a pending open of a fifo by opening its other end once. */
async function unblock(path: string, pendingIs: "read" | "write"): Promise<void> {
  const f = await Deno.open(path, pendingIs === "read" ? { write: true } : { read: true })
    .catch(() => undefined);
  f?.close();
}

/** Options of {@link startExec}. */
export interface StartExecInput extends Omit<ExecOptions, "user"> {
  /** The process identity, resolved by the caller (user.ts); default the container's. */
  user?: ProcessUser;
  /** Directory for the fifos (created, and removed when the process is done). */
  fifoDir: string;
}

/**
 * The exit code of an exec that runc could not start, as a shell and Docker give it: 127 when
 * the executable does not exist, 126 when it cannot be run. Undefined for other failures (the
 * container is gone, containerd is down), which stay errors. runc reports these as
 * `exec: "x": executable file not found in $PATH`, `stat /x: no such file or directory` or
 * `permission denied`, as gRPC UNKNOWN (code `internal` here).
 */
export function startFailureExitCode(err: unknown): 126 | 127 | undefined {
  if (!isContainerdCode(err, "internal")) return undefined;
  const message = (err as Error).message;
  if (!/\bexec(ve)?\b|starting container process/.test(message)) return undefined;
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|exec format error|is a directory/i.test(message)) return 126;
  return undefined;
}

/** A session for a process that never started: its reason on stderr (the terminal with a tty). */
function exitedSession(exitCode: number, reason: string, tty: boolean): ExecSession {
  const once = (data?: Uint8Array) =>
    new ReadableStream<Uint8Array>({
      start: (c) => {
        if (data) c.enqueue(data);
        c.close();
      },
    });
  return {
    stdin: new WritableStream<Uint8Array>(),
    stdout: once(tty ? new TextEncoder().encode(reason) : undefined),
    stderr: once(tty ? undefined : new TextEncoder().encode(reason)),
    exited: Promise.resolve(exitCode),
    kill: () => Promise.resolve(),
    resize: () => Promise.resolve(),
  };
}

/** Starts an exec process and returns its streams. */
export async function startExec(
  client: ContainerdClient,
  containerId: string,
  input: StartExecInput,
): Promise<ExecSession> {
  const { container } = await client.containers.get({ id: containerId });
  const spec = JSON.parse(new TextDecoder().decode(container!.spec!.value)) as RuntimeSpec;
  const execId = `exec-${crypto.randomUUID().slice(0, 12)}`;
  const tty = input.tty ?? false;
  const process = {
    ...spec.process,
    terminal: tty,
    args: input.cmd,
    env: mergeEnv(spec.process.env, input.env),
    cwd: input.cwd ?? spec.process.cwd,
    user: input.user ?? spec.process.user,
    // The size the terminal has from the first instruction on (runc sets it on the console it
    // creates); a resize after the start would race with a program that reads it at once.
    ...(tty && input.size
      ? { consoleSize: { width: input.size.cols, height: input.size.rows } }
      : {}),
  };
  const dir = `${input.fifoDir}/${execId}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = { stdin: `${dir}/stdin`, stdout: `${dir}/stdout`, stderr: `${dir}/stderr` };
  await mkfifo(paths.stdin);
  await mkfifo(paths.stdout);
  if (!tty) await mkfifo(paths.stderr);
  // Opening a fifo blocks until the other side opens it: start the opens, then ask the shim.
  const opening = {
    stdout: Deno.open(paths.stdout, { read: true }),
    stderr: tty ? undefined : Deno.open(paths.stderr, { read: true }),
    stdin: Deno.open(paths.stdin, { write: true }),
  };
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  let exitStatus: Promise<number>;
  try {
    await client.tasks.exec({
      containerId,
      execId,
      stdin: paths.stdin,
      stdout: paths.stdout,
      stderr: tty ? "" : paths.stderr,
      terminal: tty,
      spec: {
        typeUrl: PROCESS_SPEC_TYPE_URL,
        value: new TextEncoder().encode(JSON.stringify(process)),
      },
    });
    exitStatus = client.tasks.wait({ containerId, execId }).then((r) => r.exitStatus);
    exitStatus.catch(() => {}); // observed below
    await client.tasks.start({ containerId, execId });
  } catch (err) {
    await Promise.all([
      unblock(paths.stdout, "read"),
      tty ? undefined : unblock(paths.stderr, "read"),
      unblock(paths.stdin, "write"),
    ]);
    for (const p of [opening.stdout, opening.stderr, opening.stdin]) {
      p?.then((f) => f.close(), () => {});
    }
    await client.tasks.deleteProcess({ containerId, execId }).catch(() => {});
    await cleanup();
    const code = startFailureExitCode(err);
    if (code !== undefined) return exitedSession(code, `${(err as Error).message}\n`, tty);
    if (isContainerdCode(err, "not_found") || isContainerdCode(err, "failed_precondition")) {
      throw new FailedPreconditionError(
        `cannot exec in container "${containerId}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    throw err;
  }
  const [stdinFile, stdoutFile, stderrFile] = await Promise.all([
    opening.stdin,
    opening.stdout,
    opening.stderr,
  ]);
  const stdout = stdoutFile.readable;
  const stderr = stderrFile ? stderrFile.readable : new ReadableStream<Uint8Array>({
    start: (c) => c.close(),
  });
  const exited = exitStatus.finally(async () => {
    await client.tasks.deleteProcess({ containerId, execId }).catch(() => {});
    await cleanup();
  });
  // The shim holds the stdin fifo open itself (so a client can reconnect), so closing our end
  // does not reach the process: CloseIO does.
  // Not stdinFile.writable: its writes reach the fifo only at close (fifo_writable.ts).
  const fifoWriter = fifoWritable(stdinFile).getWriter();
  const closeStdin = async () => {
    await fifoWriter.close().catch(() => {});
    await client.tasks.closeIo({ containerId, execId, stdin: true }).catch(() => {});
  };
  const stdin = new WritableStream<Uint8Array>({
    write: (chunk) => fifoWriter.write(chunk),
    close: closeStdin,
    abort: closeStdin,
  });
  return {
    stdin,
    stdout,
    stderr,
    exited,
    kill: async (sig?: Signal) => {
      await client.tasks.kill({
        containerId,
        execId,
        signal: signalNumber(sig ?? "SIGKILL"),
        all: false,
      });
    },
    resize: async (cols: number, rows: number) => {
      await client.tasks.resizePty({ containerId, execId, width: cols, height: rows });
    },
  };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const dec = new TextDecoder();
  let s = "";
  for await (const chunk of stream) s += dec.decode(chunk, { stream: true });
  return s + dec.decode();
}

/** Runs an exec process to completion and collects its output. */
export async function runExec(
  client: ContainerdClient,
  containerId: string,
  input: StartExecInput,
): Promise<ExecResult> {
  const s = await startExec(client, containerId, input);
  const stdout = readAll(s.stdout);
  const stderr = readAll(s.stderr);
  const w = s.stdin.getWriter();
  if (input.stdin !== undefined) {
    const data = typeof input.stdin === "string"
      ? new TextEncoder().encode(input.stdin)
      : input.stdin;
    await w.write(data).catch(() => {}); // the process may exit without reading
  }
  await w.close().catch(() => {});
  const [exitCode, out, err] = await Promise.all([s.exited, stdout, stderr]);
  return { exitCode, stdout: out, stderr: err };
}

/**
 * `warren service logs NAME [-f] [--tail N] [--since DURATION|TS] [-t]` and
 * `warren service exec [-i] [-t] TASK -- CMD...`, streamed through the managers and the worker
 * tunnels.
 *
 * Logs lines are prefixed `task.slot@node |` (stdout lines on stdout, stderr lines on stderr,
 * notices about unreachable tasks on stderr); `-o json` prints one JSON object per line instead
 * (`-o yaml` one YAML document), all on stdout, like `events -o json`. Exec exits with the
 * command's exit code; without `-i` the command gets this process's stdin only when it is piped
 * (not a terminal); with `-it` on a terminal, stdin is raw and window size changes are forwarded.
 * @module
 */
import type { Command } from "commander";
import { NotFoundError, ValidationError, WarrenError } from "../../proto/errors.ts";
import type { LogLine, LogStream, TaskLogsMessage, TerminalSize } from "../../proto/schema/mod.ts";
import { ExitCode } from "../exit_code.ts";
import { renderYaml } from "../output/format.ts";
import { addClientFlags, type CliContext, type ClientFlags, withClient } from "./_context.ts";
import { parseDurationMs, parseIntFlag } from "./_units.ts";

/** The raw terminal an exec uses (tests inject one). */
export interface ExecTerminal {
  stdin: ReadableStream<Uint8Array>;
  /** Whether stdin is a terminal. */
  stdinIsTerminal(): boolean;
  setRaw(raw: boolean): void;
  /** Current window size, when stdout is a terminal. */
  size(): TerminalSize | undefined;
  /** Calls `fn` on every window size change; returns the unsubscribe function. */
  onResize(fn: () => void): () => void;
  writeOut(chunk: Uint8Array): Promise<void>;
  writeErr(chunk: Uint8Array): Promise<void>;
}

/** This process's terminal. */
export function processTerminal(): ExecTerminal {
  const writeAll = async (w: { write(p: Uint8Array): Promise<number> }, chunk: Uint8Array) => {
    for (let i = 0; i < chunk.byteLength;) i += await w.write(chunk.subarray(i));
  };
  return {
    stdin: Deno.stdin.readable,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    setRaw: (raw) => Deno.stdin.setRaw(raw),
    size: () => {
      try {
        const { columns, rows } = Deno.consoleSize();
        return columns > 0 && rows > 0 ? { cols: columns, rows } : undefined;
      } catch {
        return undefined;
      }
    },
    onResize: (fn) => {
      Deno.addSignalListener("SIGWINCH", fn);
      return () => Deno.removeSignalListener("SIGWINCH", fn);
    },
    writeOut: (chunk) => writeAll(Deno.stdout, chunk),
    writeErr: (chunk) => writeAll(Deno.stderr, chunk),
  };
}

/**
 * `--since`: a duration back from now (`10m`, `1h30m`), an RFC 3339 time or Unix seconds.
 * @returns ms since the epoch
 */
export function parseSince(text: string, now: number): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(s)) return now - parseDurationMs(s, "--since");
  const t = Date.parse(s);
  if (Number.isNaN(t)) {
    throw new ValidationError(
      "--since",
      `"${text}" must be a duration (10m, 1h30m), a time (2024-05-01T10:00:00Z) or Unix seconds`,
    );
  }
  return t;
}

/** One output line as the CLI prints it: `web.1@node-a | [timestamp ]text`. */
export function formatLogLine(m: TaskLogsMessage, l: LogLine, timestamps: boolean): string {
  const ts = timestamps ? `${new Date(l.timestamp).toISOString()} ` : "";
  return `${m.taskName}@${m.nodeName} | ${ts}${l.line}`;
}

/** One log line as `-o json|yaml` prints it; `timestamp` in ms since the epoch, as elsewhere. */
export interface LogRecord {
  /** SERVICE.SLOT (SERVICE.NODE for a global task). */
  task: string;
  taskId: string;
  /** Host name of the task's node. */
  node: string;
  stream: LogStream;
  timestamp: number;
  message: string;
}

/** The record `-o json|yaml` prints for `l`. */
export function logRecord(m: TaskLogsMessage, l: LogLine): LogRecord {
  return {
    task: m.taskName,
    taskId: m.taskId,
    node: m.nodeName,
    stream: l.stream,
    timestamp: l.timestamp,
    message: l.line,
  };
}

interface LogsFlags extends ClientFlags {
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
}

interface ExecFlags extends ClientFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds `logs` and `exec` to the `service` command group. */
export function addLogsExecCommands(
  group: Command,
  ctx: CliContext,
  terminal: () => ExecTerminal = processTerminal,
): void {
  addClientFlags(
    group.command("logs").description(
      "print the output of a service or task (-o json: one JSON object per line)",
    ),
  )
    .argument("<name>", "service ID or name, or a task (ID or SERVICE.SLOT)")
    .option(
      "-f, --follow",
      "keep printing new lines, of tasks started later too, until the service runs nothing",
    )
    .option("--tail <n>", "only the last N lines of each task")
    .option("--since <when>", "only lines since a duration ago (10m), a time, or Unix seconds")
    .option("-t, --timestamps", "print the time of each line")
    .action(async (name: string, o: LogsFlags) => {
      const tail = o.tail === undefined
        ? undefined
        : parseIntFlag(o.tail, "--tail", { min: 0, max: 1_000_000 });
      const since = o.since === undefined ? undefined : parseSince(o.since, ctx.now());
      const signal = ctx.interrupt();
      await withClient(ctx, o, async (c) => {
        const target = await c.services.inspect(name).then(
          (svc) => ({ serviceId: svc.id }),
          (err) => {
            if (err instanceof WarrenError && err.code === "not_found") return { taskId: name };
            throw err;
          },
        );
        let answered = false;
        try {
          for await (
            const m of c.tasks.logs({ ...target, follow: o.follow, tail, since, signal })
          ) {
            answered = true;
            for (const n of m.notices) ctx.io.err(`warning: ${n}`);
            for (const l of m.lines) {
              if (o.output === "table") {
                const text = formatLogLine(m, l, o.timestamps ?? false);
                if (l.stream === "stderr") ctx.io.err(text);
                else ctx.io.out(text);
              } else {
                // Records go to stdout whole (each names its stream), so one pipe into jq sees
                // every line in order.
                const record = logRecord(m, l);
                ctx.io.out(
                  o.output === "json" ? JSON.stringify(record) : `---\n${renderYaml(record)}`,
                );
              }
            }
          }
        } catch (err) {
          // The name is no service and no task: say both, not only `task "x" not found`.
          const notFound = err instanceof WarrenError && err.code === "not_found";
          if ("taskId" in target && notFound && !answered) {
            throw new NotFoundError("service or task", name, { cause: err });
          }
          throw err;
        }
      });
    });

  addClientFlags(group.command("exec").description("run a command in a running task"), {
    formats: "none",
  })
    .argument("<task>", "task ID or SERVICE.SLOT (as `service ps` shows)")
    .argument("<command...>", "command and arguments, after --")
    .option("-i, --interactive", "keep stdin open (even when it is a terminal)")
    .option("-t, --tty", "allocate a terminal")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user>", "user[:group], names or numeric IDs (default the task's)")
    .action(async (task: string, command: string[], o: ExecFlags) => {
      if (command.length === 0) throw new ValidationError("command", "give a command after --");
      const term = terminal();
      const tty = o.tty ?? false;
      const stdinIsTerminal = term.stdinIsTerminal();
      // Piped input always goes to the command; a terminal's only with -i.
      const withStdin = o.interactive || !stdinIsTerminal;
      const raw = tty && withStdin && stdinIsTerminal;
      const size = tty ? term.size() : undefined;
      const resizes = tty ? resizeEvents(term) : undefined;
      if (raw) term.setRaw(true);
      let code: number;
      try {
        code = await withClient(ctx, o, (c) =>
          c.tasks.exec({
            taskId: task,
            command,
            tty,
            env: o.env ?? [],
            ...(o.workdir ? { workdir: o.workdir } : {}),
            ...(o.user ? { user: o.user } : {}),
            ...(size ? { size } : {}),
          }, {
            ...(withStdin ? { stdin: term.stdin } : {}),
            stdout: (chunk) => term.writeOut(chunk),
            stderr: (chunk) => term.writeErr(chunk),
            ...(resizes ? { resizes: resizes.events } : {}),
          }));
      } finally {
        resizes?.stop();
        if (raw) term.setRaw(false);
      }
      if (code !== 0) throw new ExitCode(code);
    });
}

/** Window sizes as an async iterable, until `stop`. */
function resizeEvents(term: ExecTerminal): {
  events: AsyncIterable<TerminalSize>;
  stop: () => void;
} {
  let wake: (() => void) | undefined;
  let stopped = false;
  let pending = false;
  const unsubscribe = term.onResize(() => {
    pending = true;
    wake?.();
  });
  return {
    events: (async function* () {
      while (!stopped) {
        if (!pending) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        pending = false;
        const size = term.size();
        if (!stopped && size) yield size;
      }
    })(),
    stop: () => {
      stopped = true;
      unsubscribe();
      wake?.();
    },
  };
}

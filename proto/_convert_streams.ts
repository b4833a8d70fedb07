/** Codecs of the logs, exec and tunnel messages (private to proto/convert.ts). */
import type * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";
import { codec, compact, E, str } from "./_convert_base.ts";

const NO_BYTES = new Uint8Array(0);

/** proto3 bytes cannot tell empty from unset: an empty chunk is "not set". */
const bytes = (b: Uint8Array): Uint8Array | undefined => b.byteLength === 0 ? undefined : b;

const encLine = (l: d.LogLine): w.LogLine => ({
  stream: E.LogStream.toWire(l.stream),
  line: l.line,
  timestamp: l.timestamp,
});
const decLine = (x: w.LogLine) => ({
  stream: E.LogStream.fromWire(x.stream),
  line: x.line,
  timestamp: x.timestamp,
});

const encSize = (s: d.TerminalSize): w.TerminalSize => ({ ...s });
const decSize = (x: w.TerminalSize | undefined) => x && { cols: x.cols, rows: x.rows };

const encStart = (s: d.ExecStart): w.ExecStart => ({
  taskId: s.taskId,
  command: [...s.command],
  tty: s.tty,
  stdin: s.stdin,
  env: [...s.env],
  workdir: s.workdir,
  user: s.user,
  size: s.size && encSize(s.size),
});
const decStart = (x: w.ExecStart | undefined) =>
  x &&
  compact({
    taskId: str(x.taskId),
    command: [...x.command],
    tty: x.tty,
    stdin: x.stdin,
    env: [...x.env],
    workdir: str(x.workdir),
    user: str(x.user),
    size: decSize(x.size),
  });

const encTunnelLogs = (r: d.TunnelLogsRequest): w.TunnelLogsRequest => ({ ...r });
const decTunnelLogs = (x: w.TunnelLogsRequest | undefined) =>
  x && compact({ taskId: str(x.taskId), follow: x.follow, tail: x.tail, since: x.since });

const encError = (e: d.TunnelError): w.TunnelError => ({ ...e });
const decError = (x: w.TunnelError | undefined) =>
  x && compact({ code: str(x.code), message: x.message });

/** Codecs of TaskService.Logs/Exec and TunnelService messages. */
export const streamCodecs = {
  TaskLogsRequest: codec(
    d.TaskLogsRequestSchema,
    (r): w.TaskLogsRequest => ({ ...r }),
    (x: w.TaskLogsRequest) =>
      compact({
        taskId: str(x.taskId),
        serviceId: str(x.serviceId),
        follow: x.follow,
        tail: x.tail,
        since: x.since,
      }),
  ),
  LogLine: codec(d.LogLineSchema, encLine, decLine),
  TaskLogsMessage: codec(
    d.TaskLogsMessageSchema,
    (m): w.TaskLogsMessage => ({
      taskId: m.taskId,
      taskName: m.taskName,
      nodeName: m.nodeName,
      lines: m.lines.map(encLine),
      notices: [...m.notices],
    }),
    (x: w.TaskLogsMessage) => ({
      taskId: x.taskId,
      taskName: x.taskName,
      nodeName: x.nodeName,
      lines: x.lines.map(decLine),
      notices: [...x.notices],
    }),
  ),
  TerminalSize: codec(d.TerminalSizeSchema, encSize, (x: w.TerminalSize) => decSize(x)),
  ExecStart: codec(d.ExecStartSchema, encStart, (x: w.ExecStart) => decStart(x)),
  ExecInput: codec(
    d.ExecInputSchema,
    (m): w.ExecInput => ({
      start: m.start && encStart(m.start),
      stdin: m.stdin ?? NO_BYTES,
      closeStdin: m.closeStdin,
      resize: m.resize && encSize(m.resize),
    }),
    (x: w.ExecInput) =>
      compact({
        start: decStart(x.start),
        stdin: bytes(x.stdin),
        closeStdin: x.closeStdin,
        resize: decSize(x.resize),
      }),
  ),
  ExecOutput: codec(
    d.ExecOutputSchema,
    (m): w.ExecOutput => ({
      stdout: m.stdout ?? NO_BYTES,
      stderr: m.stderr ?? NO_BYTES,
      exitCode: m.exitCode,
    }),
    (x: w.ExecOutput) =>
      compact({ stdout: bytes(x.stdout), stderr: bytes(x.stderr), exitCode: x.exitCode }),
  ),
  TunnelLogsRequest: codec(
    d.TunnelLogsRequestSchema,
    encTunnelLogs,
    (x: w.TunnelLogsRequest) => decTunnelLogs(x),
  ),
  TunnelDown: codec(
    d.TunnelDownSchema,
    (m): w.TunnelDown => ({
      streamId: m.streamId,
      logs: m.logs && encTunnelLogs(m.logs),
      exec: m.exec && encStart(m.exec),
      stdin: m.stdin ?? NO_BYTES,
      closeStdin: m.closeStdin,
      resize: m.resize && encSize(m.resize),
      cancel: m.cancel,
      ping: m.ping,
      stdinCredits: m.stdinCredits,
    }),
    (x: w.TunnelDown) =>
      compact({
        streamId: x.streamId,
        logs: decTunnelLogs(x.logs),
        exec: decStart(x.exec),
        stdin: bytes(x.stdin),
        closeStdin: x.closeStdin,
        resize: decSize(x.resize),
        cancel: x.cancel,
        ping: x.ping,
        stdinCredits: x.stdinCredits,
      }),
  ),
  TunnelError: codec(d.TunnelErrorSchema, encError, (x: w.TunnelError) => decError(x)),
  TunnelUp: codec(
    d.TunnelUpSchema,
    (m): w.TunnelUp => ({
      streamId: m.streamId,
      nodeId: m.nodeId ?? "",
      lines: m.lines.map(encLine),
      stdout: m.stdout ?? NO_BYTES,
      stderr: m.stderr ?? NO_BYTES,
      exitCode: m.exitCode,
      end: m.end,
      error: m.error && encError(m.error),
      pong: m.pong,
      stdinWindow: m.stdinWindow ?? 0,
      stdinCredit: m.stdinCredit ?? 0,
    }),
    (x: w.TunnelUp) =>
      compact({
        streamId: x.streamId,
        nodeId: str(x.nodeId),
        lines: x.lines.map(decLine),
        stdout: bytes(x.stdout),
        stderr: bytes(x.stderr),
        exitCode: x.exitCode,
        end: x.end,
        error: decError(x.error),
        pong: x.pong,
        stdinWindow: x.stdinWindow || undefined,
        stdinCredit: x.stdinCredit || undefined,
      }),
  ),
} as const;

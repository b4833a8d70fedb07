/**
 * Logs and exec: the client-facing TaskService.Logs / TaskService.Exec messages and the
 * TunnelService messages the leader and a worker multiplex them over (workers behind NAT keep
 * one stream open to the leader; see warren.proto).
 *
 * Output bytes stay `Uint8Array` (like Raft messages): they are streamed, never stored or sent
 * as JSON, and base64 would cost a third more on every chunk.
 */
import { z } from "zod";
import { IdSchema, TimestampMsSchema } from "./common.ts";

/** Largest chunk of exec input or output in one message. */
export const MAX_EXEC_CHUNK_BYTES = 1024 * 1024;
/** Longest log line (the log driver joins partial records up to this). */
export const MAX_LOG_LINE_BYTES = 1024 * 1024;
/** Most lines in one logs message. */
export const MAX_LOG_LINES = 10_000;

const Chunk = z.custom<Uint8Array>(
  (b) => b instanceof Uint8Array && b.byteLength <= MAX_EXEC_CHUNK_BYTES,
  { message: `must be bytes, at most ${MAX_EXEC_CHUNK_BYTES}` },
);
/** A task by ID or as SERVICE.SLOT (`web.1`). */
const TaskRef = z.string().min(1).max(128);
const Tail = z.number().int().min(0).max(1_000_000);
const ExitCode = z.number().int().min(-1).max(2 ** 31 - 1);

/** Which output stream a line came from. */
export const LogStreamSchema = z.enum(["stdout", "stderr"]);
/** A log stream. */
export type LogStream = z.infer<typeof LogStreamSchema>;

/** TaskService.Logs request: exactly one of `taskId` and `serviceId`. */
export const TaskLogsRequestSchema = z.object({
  /** A task: ID or SERVICE.SLOT. */
  taskId: TaskRef.optional(),
  /** A service (ID or name): every task of it. */
  serviceId: IdSchema.optional(),
  /** Keep streaming new lines until the tasks have ended. */
  follow: z.boolean().default(false),
  /** Only the last `tail` lines of each task. */
  tail: Tail.optional(),
  /** Only lines at or after this time (ms since the epoch). */
  since: TimestampMsSchema.optional(),
}).refine((r) => (r.taskId === undefined) !== (r.serviceId === undefined), {
  message: "give exactly one of taskId and serviceId",
  path: ["taskId"],
});
/** A logs request. */
export type TaskLogsRequest = z.infer<typeof TaskLogsRequestSchema>;

/** One line of output, without its newline. */
export const LogLineSchema = z.object({
  stream: LogStreamSchema,
  line: z.string().max(MAX_LOG_LINE_BYTES).default(""),
  /** When the node read it (ms since the epoch). */
  timestamp: TimestampMsSchema,
});
/** A log line. */
export type LogLine = z.infer<typeof LogLineSchema>;

/** Lines of one task; no lines and no notices means a keepalive. */
export const TaskLogsMessageSchema = z.object({
  taskId: z.string().max(128).default(""),
  /** SERVICE.SLOT, or SERVICE.NODE for a global task. */
  taskName: z.string().max(256).default(""),
  /** Host name of the task's node. */
  nodeName: z.string().max(256).default(""),
  lines: z.array(LogLineSchema).max(MAX_LOG_LINES).default([]),
  /** Why some task's lines are missing. */
  notices: z.array(z.string().max(4096)).max(1_000).default([]),
});
/** A logs message. */
export type TaskLogsMessage = z.infer<typeof TaskLogsMessageSchema>;

/** A terminal size in character cells. */
export const TerminalSizeSchema = z.object({
  cols: z.number().int().min(1).max(10_000),
  rows: z.number().int().min(1).max(10_000),
});
/** A terminal size. */
export type TerminalSize = z.infer<typeof TerminalSizeSchema>;

/** The first message of an exec: what to run where. */
export const ExecStartSchema = z.object({
  /** Task ID or SERVICE.SLOT. */
  taskId: TaskRef,
  command: z.array(z.string().max(65_536)).min(1, "must name a command").max(4_096),
  /** Allocate a terminal (stdout and stderr become one stream). */
  tty: z.boolean().default(false),
  /** Whether stdin follows; when false the process's stdin is closed at once. */
  stdin: z.boolean().default(false),
  /** KEY=VALUE entries added to the task's environment. */
  env: z.array(z.string().regex(/^[^=]+=/, "must be KEY=VALUE").max(65_536)).max(1_000)
    .default([]),
  workdir: z.string().min(1).max(4_096).optional(),
  user: z.string().min(1).max(256).optional(),
  /** Initial terminal size (tty only). */
  size: TerminalSizeSchema.optional(),
});
/** An exec start. */
export type ExecStart = z.infer<typeof ExecStartSchema>;
/** An exec start before defaults apply. */
export type ExecStartInput = z.input<typeof ExecStartSchema>;

/** A caller's exec message: exactly one field set. */
export const ExecInputSchema = z.object({
  start: ExecStartSchema.optional(),
  stdin: Chunk.optional(),
  closeStdin: z.boolean().default(false),
  resize: TerminalSizeSchema.optional(),
});
/** An exec input message. */
export type ExecInput = z.infer<typeof ExecInputSchema>;

/** Exec output; the last message holds the exit code; nothing set is a keepalive. */
export const ExecOutputSchema = z.object({
  stdout: Chunk.optional(),
  stderr: Chunk.optional(),
  exitCode: ExitCode.optional(),
});
/** An exec output message. */
export type ExecOutput = z.infer<typeof ExecOutputSchema>;

/** Logs request as the leader sends it to a worker (a resolved task ID). */
export const TunnelLogsRequestSchema = z.object({
  taskId: IdSchema,
  follow: z.boolean().default(false),
  tail: Tail.optional(),
  since: TimestampMsSchema.optional(),
});
/** A tunnel logs request. */
export type TunnelLogsRequest = z.infer<typeof TunnelLogsRequestSchema>;

const StreamId = z.number().int().min(0).max(0xffff_ffff);
/** A stdin window or credit: a positive byte count (0 is "not set" on the wire). */
const StdinBytes = z.number().int().min(1).max(0xffff_ffff);

/** Leader → worker; exactly one field after `streamId` is set. */
export const TunnelDownSchema = z.object({
  streamId: StreamId,
  logs: TunnelLogsRequestSchema.optional(),
  exec: ExecStartSchema.optional(),
  stdin: Chunk.optional(),
  closeStdin: z.boolean().default(false),
  resize: TerminalSizeSchema.optional(),
  /** The caller went away: stop and forget the stream. */
  cancel: z.boolean().default(false),
  /** Stream 0: answer with a pong. */
  ping: z.boolean().default(false),
  /**
   * Stream 0, first ping: the leader keeps every exec stream's stdin within the worker's window
   * plus the credit given back (see {@link TunnelUpSchema}).
   */
  stdinCredits: z.boolean().default(false),
});
/** A leader → worker tunnel message. */
export type TunnelDown = z.infer<typeof TunnelDownSchema>;

/** A typed error crossing the tunnel (proto/errors.ts code and message). */
export const TunnelErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(4_096).default(""),
});
/** A tunnel error. */
export type TunnelError = z.infer<typeof TunnelErrorSchema>;

/** Worker → leader. */
export const TunnelUpSchema = z.object({
  streamId: StreamId,
  /** Stream 0, first message: the node opening the tunnel. */
  nodeId: IdSchema.optional(),
  lines: z.array(LogLineSchema).max(MAX_LOG_LINES).default([]),
  stdout: Chunk.optional(),
  stderr: Chunk.optional(),
  exitCode: ExitCode.optional(),
  /** The stream is done. */
  end: z.boolean().default(false),
  /** The stream failed; it is done. */
  error: TunnelErrorSchema.optional(),
  pong: z.boolean().default(false),
  /**
   * Stream 0, first message: the stdin window in bytes each exec stream starts with; absent
   * (older workers): stdin is not flow-controlled.
   */
  stdinWindow: StdinBytes.optional(),
  /** An exec stream: its stdin took this many more bytes, which the leader may now send. */
  stdinCredit: StdinBytes.optional(),
});
/** A worker → leader tunnel message. */
export type TunnelUp = z.infer<typeof TunnelUpSchema>;

/**
 * Structured logs: one JSON object per line (or readable text), with a level and the component
 * that wrote it. A leaf every layer may use. Logs go to stderr; stdout stays for command output.
 * @module
 */

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Output format. */
export type LogFormat = "json" | "text";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Where log lines go and which are kept. */
export interface LogConfig {
  level: LogLevel;
  format: LogFormat;
  /** Writes one line (without newline). Default: stderr. */
  sink?: (line: string) => void;
}

let config: Required<LogConfig> = {
  level: "info",
  format: "text",
  sink: (line) => console.error(line),
};

/** Sets the process-wide level, format and sink. */
export function configureLogging(c: Partial<LogConfig>): void {
  config = { ...config, ...c } as Required<LogConfig>;
}

/** A component's logger; `with` adds fields to every line. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

/** A logger for `component` (e.g. "raft", "api", "worker"). */
export function logger(component: string, base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[config.level]) return;
    const rec: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      component,
      msg,
      ...base,
      ...fields,
    };
    for (const [k, v] of Object.entries(rec)) {
      if (v instanceof Error) rec[k] = v.message;
    }
    if (config.format === "json") {
      config.sink(JSON.stringify(rec));
    } else {
      const extra = Object.entries(rec)
        .filter(([k]) => !["time", "level", "component", "msg"].includes(k))
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      config.sink(
        `${rec.time} ${level.toUpperCase().padEnd(5)} [${component}] ${msg}${
          extra ? " " + extra : ""
        }`,
      );
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (f) => logger(component, { ...base, ...f }),
  };
}

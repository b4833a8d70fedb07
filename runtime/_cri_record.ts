/**
 * One record of the CRI log format the log driver writes (containerd/log_driver.ts), one per line:
 * `TIME STREAM TAG TEXT` where TAG is `F` (the record ends a line) or `P` (a partial record: the
 * line goes on in the stream's next record). Shared by the forward reader (log_reader.ts) and the
 * backward one (log_tail.ts), so both read records the same way.
 */

/** A parsed record. */
export interface CriRecord {
  /** RFC 3339 time with nanoseconds, as written. */
  time: string;
  stream: "stdout" | "stderr";
  /** A `P` record: the line continues in the stream's next record. */
  partial: boolean;
  text: string;
}

const RECORD_RE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s;

/**
 * The record on `line` (without its newline), or undefined when the line is not one (e.g. a file
 * cut by an external truncate): readers skip such lines.
 */
export function parseCriRecord(line: string): CriRecord | undefined {
  const m = RECORD_RE.exec(line);
  if (!m) return undefined;
  return {
    time: m[1]!,
    stream: m[2] as "stdout" | "stderr",
    partial: m[3] === "P",
    text: m[4]!,
  };
}

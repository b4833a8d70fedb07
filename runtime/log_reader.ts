/**
 * Reading a container's log files as written by the log driver (containerd/log_driver.ts): CRI format
 * records, rotated `log.N` ... `log.1`, `log`. Partial records (`P`) are joined into one line.
 *
 * Follow mode polls the current file (every `pollMs`) and notices a rotation by the inode under
 * the path changing: the old handle is read to its end, then the new file from its start. It
 * ends once `exited` has resolved and the file has stayed quiet for `settleMs` — the driver may
 * still be writing the last lines the process printed just before it exited.
 */
import type { LogEntry } from "./runtime.ts";

/** Options of {@link readLogs}. */
export interface ReadLogsOptions {
  follow?: boolean;
  tail?: number;
  since?: Date;
  signal?: AbortSignal;
  /** Files that may exist: `path`, `path.1`, ... `path.(maxFiles-1)`. */
  maxFiles: number;
  /** Resolves when the container's main process has exited (follow ends after it). */
  exited?: Promise<unknown>;
  /** Poll interval while following; default 100 ms. */
  pollMs?: number;
  /** How long the file must stay unchanged after the exit before follow ends; default 300 ms. */
  settleMs?: number;
}

const RECORD_RE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s;

/** Splits log bytes into records, carrying partial lines and an unfinished tail across calls. */
class RecordParser {
  #rest = "";
  readonly #partial = { stdout: "", stderr: "" };
  readonly #decoder = new TextDecoder();

  push(bytes: Uint8Array): LogEntry[] {
    const text = this.#rest + this.#decoder.decode(bytes, { stream: true });
    const lines = text.split("\n");
    this.#rest = lines.pop()!;
    const out: LogEntry[] = [];
    for (const raw of lines) {
      const m = RECORD_RE.exec(raw);
      if (!m) continue; // not a record (e.g. a file cut by an external truncate): skip it
      const stream = m[2] as "stdout" | "stderr";
      if (m[3] === "P") {
        this.#partial[stream] += m[4];
        continue;
      }
      out.push({ stream, line: this.#partial[stream] + m[4], ts: new Date(m[1]) });
      this.#partial[stream] = "";
    }
    return out;
  }
}

async function inodeOf(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).ino;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function readRest(file: Deno.FsFile): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = await file.read(buf);
    if (n === null || n === 0) return chunks;
    chunks.push(buf.subarray(0, n));
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Yields the log lines of the files at `path` (see the module doc). */
export async function* readLogs(path: string, options: ReadLogsOptions): AsyncGenerator<LogEntry> {
  const since = options.since?.getTime();
  const keep = (e: LogEntry) => since === undefined || e.ts.getTime() >= since;
  // History: rotated files, oldest first, then the current file up to its present end.
  const history: LogEntry[] = [];
  for (let i = options.maxFiles - 1; i >= 1; i--) {
    const parser = new RecordParser();
    const bytes = await Deno.readFile(`${path}.${i}`).catch(() => undefined);
    if (bytes) history.push(...parser.push(bytes).filter(keep));
  }
  let file = await Deno.open(path, { read: true }).catch(() => undefined);
  let parser = new RecordParser();
  try {
    if (file) {
      for (const chunk of await readRest(file)) history.push(...parser.push(chunk).filter(keep));
    }
    const tail = options.tail;
    yield* tail === undefined ? history : tail > 0 ? history.slice(-tail) : [];
    if (!options.follow) return;

    let exited = false;
    options.exited?.then(() => exited = true, () => exited = true);
    let quietSinceExitMs = 0;
    const pollMs = options.pollMs ?? 100;
    while (!options.signal?.aborted) {
      let got = 0;
      if (file) {
        for (const chunk of await readRest(file)) {
          got += chunk.byteLength;
          for (const e of parser.push(chunk)) if (keep(e)) yield e;
        }
      }
      // A rotation (or the file appearing) shows as another inode at the path.
      const ino = await inodeOf(path);
      if (ino !== null && (!file || ino !== (await file.stat()).ino)) {
        if (file) {
          for (const chunk of await readRest(file)) {
            for (const e of parser.push(chunk)) if (keep(e)) yield e;
          }
          file.close();
        }
        file = await Deno.open(path, { read: true });
        parser = new RecordParser();
        continue;
      }
      if (exited) {
        quietSinceExitMs = got > 0 ? 0 : quietSinceExitMs + pollMs;
        if (quietSinceExitMs >= (options.settleMs ?? 300)) return;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    file?.close();
  }
}

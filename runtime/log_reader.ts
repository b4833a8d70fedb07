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

const CHUNK_BYTES = 64 * 1024;

/** The file at `path`, or undefined when it is missing or cannot be read (then skipped). */
function openIfExists(path: string): Promise<Deno.FsFile | undefined> {
  return Deno.open(path, { read: true }).catch(() => undefined);
}

/** Reads `file` from its position to its present end, one chunk at a time. */
async function* chunks(file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = new Uint8Array(CHUNK_BYTES);
    const n = await file.read(buf);
    if (n === null || n === 0) return;
    yield buf.subarray(0, n);
  }
}

/** The entries of `file` from its position to its present end that `keep` accepts. */
async function* entriesOf(
  file: Deno.FsFile,
  parser: RecordParser,
  keep: (e: LogEntry) => boolean,
): AsyncGenerator<LogEntry> {
  for await (const chunk of chunks(file)) {
    for (const e of parser.push(chunk)) if (keep(e)) yield e;
  }
}

/** The last `max` items pushed, in order: memory stays bounded however many come. */
class Ring<T> {
  readonly #items: T[] = [];
  #start = 0;
  constructor(readonly max: number) {}

  push(item: T): void {
    if (this.max <= 0) return;
    if (this.#items.length < this.max) {
      this.#items.push(item);
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.max;
  }

  toArray(): T[] {
    return [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
}

/**
 * The last `tail` kept entries, oldest first. Files are read newest first, so a rotated file is
 * read only while fewer than `tail` entries were found, and at most `tail` entries are held (a
 * `--tail 10` must not load 2 × 10 MB of history on a Raspberry Pi). Each file has its own
 * parser, as when read oldest first; the current one (`files[0]`) is always read to its end,
 * since following goes on from there.
 */
async function lastEntries(
  files: { file: Deno.FsFile | undefined; parser: RecordParser }[],
  tail: number,
  keep: (e: LogEntry) => boolean,
): Promise<LogEntry[]> {
  let out: LogEntry[] = [];
  for (const [i, { file, parser }] of files.entries()) {
    const need = Math.max(0, tail - out.length);
    if (i > 0 && need === 0) break;
    if (!file) continue;
    const ring = new Ring<LogEntry>(need);
    for await (const e of entriesOf(file, parser, keep)) ring.push(e);
    out = [...ring.toArray(), ...out];
  }
  return out;
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

/**
 * Yields the log lines of the files at `path` (see the module doc). History is streamed (or, with
 * `tail`, only the last lines are kept), never loaded whole.
 */
export async function* readLogs(path: string, options: ReadLogsOptions): AsyncGenerator<LogEntry> {
  const since = options.since?.getTime();
  const keep = (e: LogEntry) => since === undefined || e.ts.getTime() >= since;
  // Every file is opened before any is read: a rotation meanwhile (a rename) cannot make one
  // read twice or skipped. Rotated files oldest first.
  const rotated: (Deno.FsFile | undefined)[] = [];
  let file: Deno.FsFile | undefined;
  let parser = new RecordParser();
  try {
    for (let i = options.maxFiles - 1; i >= 1; i--) {
      rotated.push(await openIfExists(`${path}.${i}`));
    }
    file = await openIfExists(path);
    // History: rotated files, oldest first, then the current file up to its present end.
    if (options.tail === undefined) {
      for (const f of rotated) if (f) yield* entriesOf(f, new RecordParser(), keep);
      if (file) yield* entriesOf(file, parser, keep);
    } else {
      const newestFirst = [
        { file, parser },
        ...rotated.toReversed().map((f) => ({ file: f, parser: new RecordParser() })),
      ];
      yield* await lastEntries(newestFirst, options.tail, keep);
    }
    for (const f of rotated) f?.close();
    rotated.length = 0;
    if (!options.follow) return;

    let exited = false;
    options.exited?.then(() => exited = true, () => exited = true);
    let quietSinceExitMs = 0;
    const pollMs = options.pollMs ?? 100;
    while (!options.signal?.aborted) {
      let got = 0;
      if (file) {
        for await (const chunk of chunks(file)) {
          got += chunk.byteLength;
          for (const e of parser.push(chunk)) if (keep(e)) yield e;
        }
      }
      // A rotation (or the file appearing) shows as another inode at the path.
      const ino = await inodeOf(path);
      if (ino !== null && (!file || ino !== (await file.stat()).ino)) {
        if (file) {
          yield* entriesOf(file, parser, keep);
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
    for (const f of rotated) f?.close();
  }
}

/**
 * Reading a container's log files as written by the log driver (containerd/log_driver.ts): CRI format
 * records, rotated `log.N` ... `log.1`, `log`. Partial records (`P`) are joined into one line.
 *
 * History is streamed oldest first; with `tail`, each file is read backwards from its end instead
 * (log_tail.ts), newest file first, and an older file only while fewer than `tail` lines were found.
 *
 * Follow mode polls the current file (every `pollMs`) and notices a rotation by the inode under
 * the path changing: the old handle is read to its end, then the new file from its start. It
 * ends once `exited` has resolved and the file has stayed quiet for `settleMs` — the driver may
 * still be writing the last lines the process printed just before it exited.
 */
import type { LogEntry } from "./runtime.ts";
import { parseCriRecord } from "./_cri_record.ts";
import { type ByteSource, tailRecords } from "./log_tail.ts";

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

/** Splits log bytes into records, carrying partial lines and an unfinished tail across calls. */
class RecordParser {
  #rest = "";
  readonly #partial: { stdout: string; stderr: string };
  readonly #decoder = new TextDecoder();

  /** `partial`: the `P` text each stream has pending, when starting after the file's start. */
  constructor(partial = { stdout: "", stderr: "" }) {
    this.#partial = { ...partial };
  }

  push(bytes: Uint8Array): LogEntry[] {
    const text = this.#rest + this.#decoder.decode(bytes, { stream: true });
    const lines = text.split("\n");
    this.#rest = lines.pop()!;
    const out: LogEntry[] = [];
    for (const raw of lines) {
      const rec = parseCriRecord(raw);
      if (!rec) continue; // not a record (e.g. a file cut by an external truncate): skip it
      if (rec.partial) {
        this.#partial[rec.stream] += rec.text;
        continue;
      }
      out.push({
        stream: rec.stream,
        line: this.#partial[rec.stream] + rec.text,
        ts: new Date(rec.time),
      });
      this.#partial[rec.stream] = "";
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

/** Positional reads of `file` (moves its position). */
function byteSource(file: Deno.FsFile): ByteSource {
  return {
    async readAt(buf, offset) {
      await file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.byteLength) {
        const n = await file.read(buf.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      return got;
    },
  };
}

/**
 * The last `tail` entries at or after `sinceMs`, oldest first, read backwards from the files'
 * ends: the current file, then the rotated ones (`rotated`, newest first) only while fewer than
 * `tail` were found (a `--tail 10` reads a few KB, not 2 × 10 MB, on a Raspberry Pi). Each file
 * is read on its own, as when read oldest first. With `follow`, the current file is left where
 * following goes on and the returned parser knows the lines it has in progress.
 */
async function lastEntries(
  current: Deno.FsFile | undefined,
  rotated: (Deno.FsFile | undefined)[],
  o: { tail: number; sinceMs: number | undefined; follow: boolean },
): Promise<{ entries: LogEntry[]; parser: RecordParser }> {
  let entries: LogEntry[] = [];
  let parser = new RecordParser();
  if (current) {
    const r = await tailRecords(byteSource(current), {
      endOffset: (await current.stat()).size,
      lines: o.tail,
      sinceMs: o.sinceMs,
      carry: o.follow,
    });
    entries = r.entries;
    if (o.follow) {
      await current.seek(r.resumeOffset, Deno.SeekMode.Start);
      parser = new RecordParser(r.partial);
    }
  }
  for (const file of rotated) {
    const need = o.tail - entries.length;
    if (need <= 0) break;
    if (!file) continue;
    const r = await tailRecords(byteSource(file), {
      endOffset: (await file.stat()).size,
      lines: need,
      sinceMs: o.sinceMs,
    });
    entries = [...r.entries, ...entries];
  }
  return { entries, parser };
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
 * `tail`, read backwards for only the last lines), never loaded whole.
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
      const last = await lastEntries(file, rotated.toReversed(), {
        tail: options.tail,
        sinceMs: since,
        follow: options.follow ?? false,
      });
      parser = last.parser;
      yield* last.entries;
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

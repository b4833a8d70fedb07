/**
 * `--tail N` of one log file, read backwards from its end in fixed-size blocks (as Docker does):
 * a `--tail 20` of a 10 MiB file reads a block or two, not the file. Pure: the bytes come through
 * a {@link ByteSource}, so tests count what is read.
 *
 * The file holds CRI records, one per line (see _cri_record.ts). The entries are the ones a forward
 * read of the same bytes yields (log_reader.ts), in the same order:
 *
 * - An entry is an `F` record joined to the `P` records of its stream since that stream's previous
 *   `F` (or the file's start: each file is read on its own, as forward). Its time is the `F`'s.
 *   Records of the other stream may lie between them, so an entry is complete only once the scan
 *   has passed its stream's previous `F`: the last N `F` records pick the entries, and the scan
 *   goes on back until each of them is complete.
 * - Bytes after the last newline are a record still being written: not an entry (forward holds
 *   them back too). With `carry`, the result says where they start and which `P` text each stream
 *   has after its last `F` (a long line still being written), so following goes on from there.
 *   They are searched for in the last `carryScanBytes` (and whatever else the scan read) and,
 *   once one is seen, back to its stream's previous `F`. A stream with no record there is taken
 *   to have no line in progress, rather than reading the whole file to prove it (stderr is often
 *   never written): at worst, a line begun before that window and finished while following shows
 *   without its beginning.
 * - Lines are cut on the newline byte, which never occurs inside a multi-byte UTF-8 character,
 *   and decoded whole: a character split by a block boundary decodes as written.
 *
 * Memory: the blocks holding the current line, the N entries and the `P` text of incomplete ones.
 */
import type { LogEntry } from "./runtime.ts";
import { parseCriRecord } from "./_cri_record.ts";

/** Random access to a file's bytes: all the backward scan needs. */
export interface ByteSource {
  /**
   * Fills `buf` with the bytes from `offset` on; resolves to the count, less than `buf.length`
   * only where the file ends (e.g. it was truncated meanwhile).
   */
  readAt(buf: Uint8Array, offset: number): Promise<number>;
}

/** Options of {@link tailRecords}. */
export interface TailOptions {
  /** The bytes to read are `[0, endOffset)`: the file's size when it was looked at. */
  endOffset: number;
  /** How many entries, at most. */
  lines: number;
  /** Only entries whose time is at or after this (ms since the epoch) count and are returned. */
  sinceMs?: number;
  /** Also find what a parser following on from the end needs (see the module doc). */
  carry?: boolean;
  /** Bytes read at a time; default {@link TAIL_BLOCK_BYTES}. */
  blockBytes?: number;
  /** With `carry`, how far back from the end to look for lines in progress at least. */
  carryScanBytes?: number;
}

/** What {@link tailRecords} found. */
export interface TailResult {
  /** The last entries, oldest first. */
  entries: LogEntry[];
  /** With `carry`: per stream, the `P` text after its last `F` (a line still being written). */
  partial: { stdout: string; stderr: string };
  /**
   * With `carry`: where the unfinished last record starts (`endOffset` when the bytes end with a
   * newline). A forward read from here, primed with `partial`, goes on where the tail stopped.
   */
  resumeOffset: number;
}

/** Default block size: a few typical lines' worth, so a small tail reads one or two blocks. */
export const TAIL_BLOCK_BYTES = 8 * 1024;

/** Default `carryScanBytes`: four of the driver's 16 KiB `P` records. */
export const CARRY_SCAN_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

type Step = { line: Uint8Array; offset: number } | "read" | "start";

/** The lines of `[0, end)`, last first, one block read at a time when the caller asks. */
class BackwardLines {
  /** Bytes `[0, #pos)` are not read yet. */
  #pos: number;
  /** The last block read; bytes `[0, #cut)` of it are not cut into lines yet. */
  #block = new Uint8Array(0);
  #cut = 0;
  /** The parts of the line being assembled that lie right of `#cut`, rightmost first. */
  #pieces: Uint8Array[] = [];
  #atStart = false;
  /** Where the bytes after the last newline start, once that newline was found. */
  unterminatedStart: number | undefined;

  /** Where the bytes read so far start. */
  get readFrom(): number {
    return this.#pos;
  }

  constructor(readonly source: ByteSource, end: number, readonly blockBytes: number) {
    this.#pos = end;
  }

  /** The previous line, or "read" when another block is needed first, or "start" at the end. */
  next(): Step {
    for (;;) {
      if (this.#atStart) return "start";
      const nl = this.#cut > 0 ? this.#block.lastIndexOf(NEWLINE, this.#cut - 1) : -1;
      if (nl < 0) {
        if (this.#cut > 0) this.#pieces.push(this.#block.subarray(0, this.#cut));
        this.#cut = 0;
        if (this.#pos > 0) return "read";
        this.#atStart = true;
        const line = this.#take(new Uint8Array(0));
        if (this.unterminatedStart === undefined) {
          this.unterminatedStart = 0; // no newline at all: the one record is unfinished
          return "start";
        }
        return { line, offset: 0 };
      }
      const line = this.#take(this.#block.subarray(nl + 1, this.#cut));
      this.#cut = nl;
      const offset = this.#pos + nl + 1;
      if (this.unterminatedStart === undefined) {
        this.unterminatedStart = offset;
        continue;
      }
      return { line, offset };
    }
  }

  /** Reads the block before the ones read so far. */
  async read(): Promise<void> {
    const n = Math.min(this.blockBytes, this.#pos);
    const start = this.#pos - n;
    const block = new Uint8Array(n);
    const got = await this.source.readAt(block, start);
    if (got < n) {
      // The file shrank under the scan (an outside truncate): what is left to read is gone.
      this.#atStart = true;
      return;
    }
    this.#block = block;
    this.#cut = n;
    this.#pos = start;
  }

  /** `first` followed by the pieces assembled so far. */
  #take(first: Uint8Array): Uint8Array {
    const pieces = this.#pieces;
    this.#pieces = [];
    if (pieces.length === 0) return first;
    const parts = [first, ...pieces.toReversed()];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

type Stream = "stdout" | "stderr";
const STREAMS: readonly Stream[] = ["stdout", "stderr"];

/** An entry whose `F` record was found, still collecting its stream's earlier `P` records. */
interface OpenEntry {
  offset: number;
  ts: Date;
  /** Texts of its records, last first. */
  parts: string[];
}

/**
 * The last `lines` entries of the records in `[0, endOffset)` of `source` (see the module doc).
 */
export async function tailRecords(source: ByteSource, options: TailOptions): Promise<TailResult> {
  const scan = new BackwardLines(source, options.endOffset, options.blockBytes ?? TAIL_BLOCK_BYTES);
  const decoder = new TextDecoder();
  const found: { offset: number; entry: LogEntry }[] = [];
  const open: Record<Stream, OpenEntry | undefined> = { stdout: undefined, stderr: undefined };
  const seenFull: Record<Stream, boolean> = { stdout: false, stderr: false };
  const trailing: Record<Stream, string[]> = { stdout: [], stderr: [] }; // last first
  let picked = 0;

  const complete = (s: Stream) => {
    const e = open[s];
    if (!e) return;
    found.push({
      offset: e.offset,
      entry: { stream: s, line: e.parts.reverse().join(""), ts: e.ts },
    });
    open[s] = undefined;
  };
  // Asked only before reading another block: whatever was read is used.
  const done = () =>
    picked >= options.lines && !open.stdout && !open.stderr &&
    (!options.carry ||
      (scan.unterminatedStart !== undefined &&
        options.endOffset - scan.readFrom >= (options.carryScanBytes ?? CARRY_SCAN_BYTES) &&
        STREAMS.every((s) => seenFull[s] || trailing[s].length === 0)));

  for (;;) {
    const step = scan.next();
    if (step === "start") break;
    if (step === "read") {
      if (done()) break;
      await scan.read();
      continue;
    }
    const rec = parseCriRecord(decoder.decode(step.line));
    if (!rec) continue;
    const s = rec.stream;
    if (rec.partial) {
      if (seenFull[s]) open[s]?.parts.push(rec.text);
      else if (options.carry) trailing[s].push(rec.text);
      continue;
    }
    complete(s); // this F ends the stream's previous line, so the later one is whole
    seenFull[s] = true;
    if (picked >= options.lines) continue;
    const ts = new Date(rec.time);
    if (options.sinceMs !== undefined && !(ts.getTime() >= options.sinceMs)) continue;
    open[s] = { offset: step.offset, ts, parts: [rec.text] };
    picked++;
  }
  for (const s of STREAMS) complete(s); // the file's start ends them, as it starts a forward read

  found.sort((a, b) => a.offset - b.offset);
  return {
    entries: found.map((f) => f.entry),
    partial: {
      stdout: trailing.stdout.toReversed().join(""),
      stderr: trailing.stderr.toReversed().join(""),
    },
    resumeOffset: scan.unterminatedStart ?? options.endOffset,
  };
}

import assert from "node:assert/strict";
import { type ByteSource, tailRecords } from "./log_tail.ts";
import { readLogs } from "./log_reader.ts";

const enc = new TextEncoder();

/** `bytes` as a source that counts what is read from it. */
function memory(bytes: Uint8Array): ByteSource & { read: number } {
  return {
    read: 0,
    readAt(buf, offset) {
      const part = bytes.subarray(offset, offset + buf.byteLength);
      buf.set(part);
      this.read += part.byteLength;
      return Promise.resolve(part.byteLength);
    },
  };
}

const time = (i: number) => new Date(Date.UTC(2024, 4, 1, 10, 0, 0) + i * 1000);
const stamp = (i: number) => time(i).toISOString().replace("Z", "000000Z");
const record = (i: number, stream: string, tag: string, text: string) =>
  `${stamp(i)} ${stream} ${tag} ${text}\n`;

type Stream = "stdout" | "stderr";

/** Seeded PRNG (mulberry32): the same log for the same seed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const ALPHABET = ["a", "b", "z", " ", "é", "€", "😀", "\t"];

/**
 * A log as the driver writes it: both streams interleaved record by record, lines split into `P`
 * records, a few lines that are not records, and (optionally) lines still being written at the end.
 * Returns the text and what a forward read yields: the entries in order and the pending `P` text.
 */
function randomLog(seed: number, lines: number, opts: { unfinished?: boolean } = {}) {
  const rand = prng(seed);
  const word = (n: number) =>
    Array.from({ length: n }, () => ALPHABET[rand(ALPHABET.length)]).join("");
  const queue: Record<Stream, { tag: string; text: string; line: string }[]> = {
    stdout: [],
    stderr: [],
  };
  const entries: string[] = [];
  let text = "";
  let t = 0;
  let made = 0;
  while (made < lines || queue.stdout.length > 0 || queue.stderr.length > 0) {
    const s: Stream = rand(3) === 0 ? "stderr" : "stdout";
    if (queue[s].length === 0) {
      if (made >= lines) continue;
      made++;
      const line = word(rand(4) === 0 ? 40 : rand(12));
      const chars = [...line]; // split between characters, as the model's expected lines are
      const parts = [];
      for (let at = 0; at < chars.length - 8; at += 8) parts.push(chars.slice(at, at + 8).join(""));
      const last = chars.slice(parts.length * 8).join("");
      queue[s] = [...parts.map((p) => ({ tag: "P", text: p, line })), {
        tag: "F",
        text: last,
        line,
      }];
    }
    const r = queue[s].shift()!;
    text += record(t++, s, r.tag, r.text);
    if (r.tag === "F") entries.push(`${s}:${r.line}`);
    if (rand(50) === 0) text += "not a record\n";
  }
  const partial = { stdout: "", stderr: "" };
  if (opts.unfinished) {
    text += record(t++, "stdout", "P", "out ");
    text += record(t++, "stderr", "P", "err é");
    text += record(t++, "stdout", "P", "going");
    partial.stdout = "out going";
    partial.stderr = "err é";
    text += `${stamp(t++)} stdout F half writt`; // no newline: the driver is mid-write
  }
  return { bytes: enc.encode(text), entries, partial };
}

/** What the forward reader (log_reader.ts) yields from `bytes`. */
async function forward(bytes: Uint8Array): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/log`, bytes);
    const out: string[] = [];
    for await (const e of readLogs(`${dir}/log`, { maxFiles: 1 })) {
      out.push(`${e.stream}:${e.line}`);
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const show = (es: { stream: string; line: string }[]) => es.map((e) => `${e.stream}:${e.line}`);

Deno.test("tail: the same entries as a forward read, for any block size and count", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const log = randomLog(seed, 60, { unfinished: seed % 2 === 1 });
    assert.deepEqual(await forward(log.bytes), log.entries, `seed ${seed}: the model is right`);
    for (const blockBytes of [1, 2, 3, 5, 7, 16, 61, 1000, 1 << 20]) {
      for (const lines of [0, 1, 2, 3, 10, 59, 60, 61, 1000]) {
        for (const carry of [false, true]) {
          const r = await tailRecords(memory(log.bytes), {
            endOffset: log.bytes.byteLength,
            lines,
            blockBytes,
            carry,
          });
          const at = `seed ${seed}, block ${blockBytes}, lines ${lines}, carry ${carry}`;
          assert.deepEqual(show(r.entries), lines > 0 ? log.entries.slice(-lines) : [], at);
          if (carry) assert.deepEqual(r.partial, log.partial, at);
        }
      }
    }
  }
});

Deno.test("tail: 20 MB read for 20 lines costs about the bytes of those lines", async () => {
  const lines: string[] = [];
  const records: string[] = [];
  for (let i = 0, size = 0; size <= 20_000_000; i++) {
    const stream = i % 7 === 0 ? "stderr" : "stdout";
    const line = `line ${i} ${"€".repeat(i % 13)} ${"x".repeat((i * 37) % 90)}`;
    lines.push(`${stream}:${line}`);
    records.push(record(i, stream, "F", line));
    size += records.at(-1)!.length + 2 * (i % 13); // each € is 3 bytes, 1 UTF-16 unit
  }
  const bytes = enc.encode(records.join(""));
  assert.ok(bytes.byteLength > 20_000_000, `${bytes.byteLength} bytes`);
  for (const [n, blockBytes] of [[1, 4096], [20, 4096], [20, 1000], [500, 8192]]) {
    const src = memory(bytes);
    const r = await tailRecords(src, { endOffset: bytes.byteLength, lines: n, blockBytes });
    assert.deepEqual(show(r.entries), lines.slice(-n), `tail ${n}`);
    const returned = enc.encode(records.slice(-n).join("")).byteLength;
    assert.ok(
      src.read <= returned + 2 * blockBytes,
      `tail ${n}: read ${src.read} bytes for ${returned} bytes of records`,
    );
  }
});

Deno.test("tail: a multi-byte character split by a block boundary decodes whole", async () => {
  const text = record(0, "stdout", "F", "😀€é") + record(1, "stdout", "F", "€😀");
  const bytes = enc.encode(text);
  // Every boundary from 1 to 7 bytes cuts one of the characters somewhere.
  for (let blockBytes = 1; blockBytes <= 7; blockBytes++) {
    const r = await tailRecords(memory(bytes), {
      endOffset: bytes.byteLength,
      lines: 2,
      blockBytes,
    });
    assert.deepEqual(show(r.entries), ["stdout:😀€é", "stdout:€😀"], `block ${blockBytes}`);
  }
});

Deno.test("tail: an unfinished last record is not a line; following resumes at its start", async () => {
  const done = record(0, "stdout", "F", "one") + record(1, "stderr", "P", "long ");
  const text = done + `${stamp(2)} stdout F tw`;
  const bytes = enc.encode(text);
  const r = await tailRecords(memory(bytes), {
    endOffset: bytes.byteLength,
    lines: 5,
    blockBytes: 4,
    carry: true,
  });
  assert.deepEqual(show(r.entries), ["stdout:one"]);
  assert.equal(r.resumeOffset, enc.encode(done).byteLength);
  assert.deepEqual(r.partial, { stdout: "", stderr: "long " });

  // Only an unfinished record: nothing to show, and following starts at the file's start.
  const only = enc.encode(`${stamp(0)} stdout F tw`);
  const r2 = await tailRecords(memory(only), { endOffset: only.byteLength, lines: 5, carry: true });
  assert.deepEqual([r2.entries, r2.resumeOffset], [[], 0]);
  // And an empty file.
  const r3 = await tailRecords(memory(new Uint8Array(0)), { endOffset: 0, lines: 5, carry: true });
  assert.deepEqual([r3.entries, r3.resumeOffset], [[], 0]);
});

Deno.test("tail: only the bytes before endOffset are read (the file grows meanwhile)", async () => {
  const first = record(0, "stdout", "F", "a") + record(1, "stdout", "F", "b");
  const bytes = enc.encode(first + record(2, "stdout", "F", "c"));
  const r = await tailRecords(memory(bytes), {
    endOffset: enc.encode(first).byteLength,
    lines: 5,
    carry: true,
  });
  assert.deepEqual(show(r.entries), ["stdout:a", "stdout:b"]);
  assert.equal(r.resumeOffset, enc.encode(first).byteLength);
});

Deno.test("tail: --since counts only the lines at or after it", async () => {
  const text = [0, 1, 2, 3, 4].map((i) => record(i, "stdout", "F", `l${i}`)).join("") +
    record(5, "stdout", "F", "late-stamped").replace(stamp(5), stamp(-9)) +
    record(6, "stdout", "F", "bad").replace(stamp(6), "not-a-time");
  const bytes = enc.encode(text);
  const tail = (lines: number) =>
    tailRecords(memory(bytes), {
      endOffset: bytes.byteLength,
      lines,
      sinceMs: time(2).getTime(),
      blockBytes: 16,
    }).then((r) => show(r.entries));
  assert.deepEqual(await tail(2), ["stdout:l3", "stdout:l4"]);
  assert.deepEqual(await tail(10), ["stdout:l2", "stdout:l3", "stdout:l4"]);
});

Deno.test("tail: 0 lines reads nothing, unless following needs the end's state", async () => {
  const log = randomLog(9, 200, { unfinished: true });
  const src = memory(log.bytes);
  const r = await tailRecords(src, { endOffset: log.bytes.byteLength, lines: 0 });
  assert.deepEqual([r.entries, src.read], [[], 0]);
  const r2 = await tailRecords(memory(log.bytes), {
    endOffset: log.bytes.byteLength,
    lines: 0,
    carry: true,
    blockBytes: 64,
  });
  assert.deepEqual([r2.entries, r2.partial], [[], log.partial]);
});

Deno.test("tail: lines in progress are looked for near the end only, not in the whole file", async () => {
  // stdout only, as many containers write: nothing says stderr has no line in progress but a
  // scan of the whole file, which following does without.
  const text = Array.from({ length: 100_000 }, (_, i) => record(i, "stdout", "F", `l${i}`));
  const bytes = enc.encode(text.join("") + record(100_000, "stdout", "P", "going "));
  const src = memory(bytes);
  const r = await tailRecords(src, {
    endOffset: bytes.byteLength,
    lines: 2,
    carry: true,
    blockBytes: 1000,
    carryScanBytes: 10_000,
  });
  assert.deepEqual(show(r.entries), ["stdout:l99998", "stdout:l99999"]);
  assert.deepEqual(r.partial, { stdout: "going ", stderr: "" });
  assert.equal(r.resumeOffset, bytes.byteLength);
  assert.ok(src.read <= 11_000, `read ${src.read} bytes`);
});

Deno.test("tail: a file truncated under the scan ends it without failing", async () => {
  const text = [0, 1, 2, 3].map((i) => record(i, "stdout", "F", `l${i}`)).join("");
  const bytes = enc.encode(text);
  const shrunk = memory(bytes.subarray(0, 10)); // the file is 10 bytes now
  const r = await tailRecords(shrunk, { endOffset: bytes.byteLength, lines: 10, blockBytes: 16 });
  assert.deepEqual(show(r.entries), []);
});

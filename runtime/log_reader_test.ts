import assert from "node:assert/strict";
import { readLogs } from "./log_reader.ts";
import type { LogEntry } from "./runtime.ts";

async function collect(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(`${e.stream}:${e.line}`);
  return out;
}

const rec = (ts: string, stream: string, tag: string, line: string) =>
  `2024-05-01T10:00:${ts}.000000000Z ${stream} ${tag} ${line}\n`;

Deno.test("logs: rotated files are read oldest first; partial records are joined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    await Deno.writeTextFile(`${path}.2`, rec("01", "stdout", "F", "one"));
    await Deno.writeTextFile(
      `${path}.1`,
      rec("02", "stderr", "P", "tw") + rec("03", "stderr", "F", "o"),
    );
    await Deno.writeTextFile(path, rec("04", "stdout", "F", "three") + "garbage line\n");
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 3 })), [
      "stdout:one",
      "stderr:two",
      "stdout:three",
    ]);
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 3, tail: 2 })), [
      "stderr:two",
      "stdout:three",
    ]);
    assert.deepEqual(
      await collect(readLogs(path, { maxFiles: 3, since: new Date("2024-05-01T10:00:03Z") })),
      ["stderr:two", "stdout:three"], // a joined line carries the time of its last record
    );
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 2 })), [
      "stderr:two",
      "stdout:three",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: follow sees appends and a rotation, and ends after the exit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    await Deno.writeTextFile(path, rec("01", "stdout", "F", "a"));
    let exit!: () => void;
    const exited = new Promise<void>((r) => exit = r);
    const seen: string[] = [];
    const following = (async () => {
      for await (const e of readLogs(path, { maxFiles: 2, follow: true, exited, pollMs: 10 })) {
        seen.push(e.line);
        if (e.line === "a") {
          await Deno.writeTextFile(path, rec("02", "stdout", "F", "b"), { append: true });
        }
        if (e.line === "b") {
          await Deno.rename(path, `${path}.1`); // what the driver does at the size cap
          await Deno.writeTextFile(path, rec("03", "stdout", "F", "c"));
        }
        if (e.line === "c") exit();
      }
    })();
    await following;
    assert.deepEqual(seen, ["a", "b", "c"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: follow of a missing file ends after the exit; abort ends it too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/none.log`;
    assert.deepEqual(
      await collect(readLogs(path, { maxFiles: 2, follow: true, exited: Promise.resolve() })),
      [],
    );
    const ac = new AbortController();
    const it = collect(readLogs(path, { maxFiles: 2, follow: true, signal: ac.signal }));
    ac.abort();
    assert.deepEqual(await it, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Counts the bytes read from each file (by path), through Deno.readFile and file handles alike:
 * what readLogs holds at any time is at most what it has read so far.
 */
function spyReads(): { read: Map<string, number>; total(): number } & Disposable {
  const read = new Map<string, number>();
  const count = (path: string, n: number) => read.set(path, (read.get(path) ?? 0) + n);
  const paths = new WeakMap<Deno.FsFile, string>();
  const { open, readFile } = Deno;
  const fileRead = Deno.FsFile.prototype.read;
  Object.assign(Deno, {
    open: async (path: string | URL, o?: Deno.OpenOptions) => {
      const f = await open(path, o);
      paths.set(f, String(path));
      return f;
    },
    readFile: async (path: string | URL, o?: Deno.ReadFileOptions) => {
      const bytes = await readFile(path, o);
      count(String(path), bytes.byteLength);
      return bytes;
    },
  });
  Deno.FsFile.prototype.read = async function (this: Deno.FsFile, p: Uint8Array) {
    const n = await fileRead.call(this, p);
    count(paths.get(this) ?? "?", n ?? 0);
    return n;
  };
  return {
    read,
    total: () => [...read.values()].reduce((a, b) => a + b, 0),
    [Symbol.dispose]() {
      Object.assign(Deno, { open, readFile });
      Deno.FsFile.prototype.read = fileRead;
    },
  };
}

/** `path.1` with 3,000 lines (~170 KB, more than one read), `path` with 50. */
async function bigHistory(dir: string): Promise<{ path: string; all: string[] }> {
  const path = `${dir}/container.log`;
  const ts = (i: number) => String(i % 60).padStart(2, "0");
  const old = Array.from({ length: 3_000 }, (_, i) => `old ${i}`);
  const recent = Array.from({ length: 50 }, (_, i) => `new ${i}`);
  await Deno.writeTextFile(`${path}.1`, old.map((l, i) => rec(ts(i), "stdout", "F", l)).join(""));
  await Deno.writeTextFile(path, recent.map((l) => rec("59", "stdout", "F", l)).join(""));
  return { path, all: [...old, ...recent].map((l) => `stdout:${l}`) };
}

Deno.test("logs: --tail holds only the last lines and reads older files only when it needs them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path, all } = await bigHistory(dir);
    {
      using spy = spyReads();
      assert.deepEqual(await collect(readLogs(path, { maxFiles: 2, tail: 10 })), all.slice(-10));
      assert.equal(spy.read.get(`${path}.1`) ?? 0, 0, "the rotated file is not read");
    }
    // Across files, with and without --since: the same lines as the whole history cut.
    const since = new Date("2024-05-01T10:00:30Z");
    const recent = all.filter((_, i) => i >= 3_000 || i % 60 >= 30);
    for (const tail of [0, 1, 49, 50, 51, 2_999, 3_050, 5_000]) {
      const want = tail > 0 ? all.slice(-tail) : [];
      assert.deepEqual(await collect(readLogs(path, { maxFiles: 2, tail })), want, `tail ${tail}`);
      assert.deepEqual(
        await collect(readLogs(path, { maxFiles: 2, tail, since })),
        tail > 0 ? recent.slice(-tail) : [],
        `tail ${tail} since`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: without --tail, history is streamed, not loaded whole before the first line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path, all } = await bigHistory(dir);
    {
      using spy = spyReads();
      const it = readLogs(path, { maxFiles: 2 });
      assert.equal((await it.next()).value?.line, "old 0");
      assert.ok(spy.total() <= 64 * 1024, `${spy.total()} bytes read for the first line`);
      await it.return(undefined);
    }
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 2 })), all);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: --tail of a 20 MB file reads a few KB from its end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    const line = (i: number) => `line ${i} ${"é".repeat(i % 7)}${"x".repeat(i % 80)}`;
    const records: string[] = [];
    let count = 0;
    for (let size = 0; size < 20 * 1024 * 1024; count++) {
      records.push(rec(String(count % 60).padStart(2, "0"), "stdout", "F", line(count)));
      size += records.at(-1)!.length + (count % 7);
    }
    await Deno.writeTextFile(path, records.join(""));
    await Deno.writeTextFile(`${path}.1`, rec("00", "stdout", "F", "older"));
    const last = (n: number) =>
      Array.from({ length: n }, (_, i) => `stdout:${line(count - n + i)}`);
    {
      using spy = spyReads();
      assert.deepEqual(await collect(readLogs(path, { maxFiles: 2, tail: 20 })), last(20));
      assert.ok(spy.total() <= 16 * 1024, `${spy.total()} bytes read for 20 lines`);
      assert.equal(spy.read.get(`${path}.1`) ?? 0, 0, "the rotated file is not read");
    }
    {
      // Following looks a little further back for lines still being written (log_tail.ts).
      using spy = spyReads();
      const it = readLogs(path, { maxFiles: 2, tail: 20, follow: true, exited: Promise.resolve() });
      assert.deepEqual(await collect(it), last(20));
      assert.ok(spy.total() <= 128 * 1024, `${spy.total()} bytes read for 20 lines and follow`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: --tail with an empty newest file takes the lines from the rotated one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    await Deno.writeTextFile(
      `${path}.1`,
      ["a", "b", "c"].map((l, i) => rec(`0${i}`, "stdout", "F", l)).join(""),
    );
    await Deno.writeTextFile(path, "");
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 2, tail: 2 })), [
      "stdout:b",
      "stdout:c",
    ]);
    assert.deepEqual(await collect(readLogs(path, { maxFiles: 2, tail: 0 })), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs: --tail with --follow goes on with the lines being written at the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    // A long stderr line in progress (its P record is written) and a stdout record half written.
    await Deno.writeTextFile(
      path,
      rec("01", "stdout", "F", "one") + rec("02", "stderr", "P", "long ") +
        rec("03", "stdout", "F", "two") + "2024-05-01T10:00:04.000000000Z stdout F thr",
    );
    const history = ["stdout:one", "stdout:two"];
    for (const tail of [1, 5]) {
      let exit!: () => void;
      const exited = new Promise<void>((r) => exit = r);
      const seen: string[] = [];
      const opts = { maxFiles: 2, tail, follow: true, exited, pollMs: 10, settleMs: 0 };
      for await (const e of readLogs(path, opts)) {
        seen.push(`${e.stream}:${e.line}`);
        if (seen.length === Math.min(tail, history.length)) {
          // The record is finished, and so is the stderr line.
          await Deno.writeTextFile(path, "ee\n" + rec("05", "stderr", "F", "line"), {
            append: true,
          });
        }
        if (e.line === "long line") exit();
      }
      const want = [...history.slice(-tail), "stdout:three", "stderr:long line"];
      assert.deepEqual(seen, want, `tail ${tail}`);
      await Deno.writeTextFile(path, (await Deno.readTextFile(path)).replace(/ee\n.*$/s, ""));
    }
    // --tail 0: no history, and the unfinished record is no line yet.
    const opts = { maxFiles: 2, tail: 0, follow: true, exited: Promise.resolve(), pollMs: 10 };
    assert.deepEqual(await collect(readLogs(path, opts)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

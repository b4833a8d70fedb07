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

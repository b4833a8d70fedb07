import assert from "node:assert/strict";
import { fifoWritable } from "./fifo_writable.ts";

/** A fifo in a temp dir with both ends open; `dispose` closes them and removes the dir. */
async function openFifo() {
  const dir = await Deno.makeTempDir({ prefix: "warren-fifo-" });
  const path = `${dir}/stdin`;
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, "mkfifo");
  const [reader, writer] = await Promise.all([
    Deno.open(path, { read: true }),
    Deno.open(path, { write: true }),
  ]);
  return { reader, writer, dir };
}

/** Reads once from `reader`, or resolves undefined if nothing came within `ms`. */
async function readWithin(reader: Deno.FsFile, ms: number): Promise<string | undefined> {
  const buf = new Uint8Array(64);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = reader.read(buf).then((n) => new TextDecoder().decode(buf.subarray(0, n ?? 0)));
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("fifoWritable: a chunk reaches the reader while the stream stays open", async () => {
  const { reader, writer, dir } = await openFifo();
  const w = fifoWritable(writer).getWriter();
  try {
    await w.write(new TextEncoder().encode("echo hi\n"));
    // An interactive exec's input must arrive as it is typed, not when the input ends: the
    // timeout only bounds a failure (the data is in the pipe once write() resolved).
    assert.equal(await readWithin(reader, 3_000), "echo hi\n");
    await w.write(new TextEncoder().encode("exit\n"));
    assert.equal(await readWithin(reader, 3_000), "exit\n");
  } finally {
    await w.close().catch(() => {});
    reader.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fifoWritable: close ends the reader's input after every byte", async () => {
  const { reader, writer, dir } = await openFifo();
  const stream = fifoWritable(writer);
  const w = stream.getWriter();
  const drained = (async () => {
    let n = 0;
    for await (const chunk of reader.readable) n += chunk.byteLength;
    return n;
  })();
  await w.write(new Uint8Array(100_000).fill(65)); // more than a pipe's 64 KiB buffer
  await w.close();
  assert.equal(await drained, 100_000, "every byte, then end of input");
  await Deno.remove(dir, { recursive: true });
});

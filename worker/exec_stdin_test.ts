import assert from "node:assert/strict";
import { ResourceExhaustedError } from "../proto/errors.ts";
import { ExecStdin } from "./exec_stdin.ts";

/** A process stdin that takes a write only when the test says so. */
function slowStdin() {
  const written: number[] = [];
  const waiting: (() => void)[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((r) =>
        waiting.push(() => {
          written.push(chunk.byteLength);
          r();
        })
      ),
    close: () => void (closed = true),
  });
  return {
    writer: stream.getWriter(),
    written,
    get closed() {
      return closed;
    },
    /** Lets the process take the next write, once there is one. */
    async take(): Promise<void> {
      await settled(() => waiting.length > 0, "a write reached the process");
      waiting.shift()!();
    },
  };
}

/** Runs queued promise jobs until `cond` holds (no timers involved); fails if it never does. */
async function settled(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await Promise.resolve();
  assert.ok(cond(), what);
}

Deno.test("exec stdin: credit goes back in quarters of the window as the process takes stdin", async () => {
  const credits: number[] = [];
  const s = new ExecStdin({ windowBytes: 400, credit: (n) => credits.push(n) });
  const p = slowStdin();
  s.write(new Uint8Array(60)); // before the process exists: buffered, counted
  s.attach(p.writer);
  s.write(new Uint8Array(60));
  s.write(new Uint8Array(280));
  assert.equal(s.bufferedBytes, 400);
  await p.take();
  await settled(() => s.bufferedBytes === 340, "60 bytes taken");
  assert.deepEqual(credits, [], "less than a quarter of the window taken: no credit yet");
  await p.take();
  await settled(() => credits.length === 1, "credit for a quarter");
  assert.deepEqual(credits, [120]);
  assert.equal(s.bufferedBytes, 280);
  s.write(new Uint8Array(120)); // the credit given back, the window is full again
  assert.throws(() => s.write(new Uint8Array(1)), ResourceExhaustedError);
  s.close();
  await p.take();
  await p.take();
  await settled(() => p.closed, "closed after the stdin before it");
  assert.deepEqual(credits, [120, 280, 120]);
  assert.equal(s.bufferedBytes, 0);
  s.write(new Uint8Array(1)); // after close: ignored
  assert.equal(s.bufferedBytes, 0);
});

Deno.test("exec stdin: without a window (an older leader) nothing is metered and no credit goes", async () => {
  const credits: number[] = [];
  const s = new ExecStdin({ credit: (n) => credits.push(n) });
  const p = slowStdin();
  s.attach(p.writer);
  for (let i = 0; i < 10; i++) s.write(new Uint8Array(1_000));
  assert.equal(s.bufferedBytes, 10_000);
  for (let i = 0; i < 10; i++) await p.take();
  await settled(() => s.bufferedBytes === 0, "all taken");
  assert.deepEqual(credits, []);
});

Deno.test("exec stdin: a failed write (the process is gone) frees its bytes; stop ends the credit", async () => {
  const credits: number[] = [];
  const s = new ExecStdin({ windowBytes: 8, credit: (n) => credits.push(n) });
  const broken = new WritableStream<Uint8Array>({
    write: () => Promise.reject(new Error("broken pipe")),
  });
  s.attach(broken.getWriter());
  s.write(new Uint8Array(4));
  s.write(new Uint8Array(4));
  s.stop();
  await settled(() => s.bufferedBytes === 0, "failed writes freed");
  assert.deepEqual(credits, []);
});

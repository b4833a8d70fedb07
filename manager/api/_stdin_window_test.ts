import assert from "node:assert/strict";
import { StdinWindow } from "./_stdin_window.ts";

function sink() {
  const sent: (number | "close")[] = [];
  return {
    sent,
    bytes: () => sent.reduce<number>((n, x) => n + (x === "close" ? 0 : x), 0),
    sink: {
      stdin: (c: Uint8Array) => void sent.push(c.byteLength),
      closeStdin: () => void sent.push("close"),
    },
  };
}

Deno.test("stdin window: sends within the window, split to fit; the write waits for credit", async () => {
  const s = sink();
  const w = new StdinWindow(100, s.sink);
  let done = false;
  const first = w.write(new Uint8Array(250)).then(() => done = true);
  assert.deepEqual(s.sent, [100]);
  assert.equal(w.pendingBytes, 150);
  w.closeStdin(); // waits behind the stdin written before it
  w.credit(30);
  assert.deepEqual(s.sent, [100, 30]);
  await Promise.resolve();
  assert.ok(!done, "not all of it went");
  w.credit(200);
  await first;
  assert.deepEqual(s.sent, [100, 30, 120, "close"]);
  assert.equal(w.availableBytes, 80);
  await w.write(new Uint8Array(5)); // after close: dropped
  assert.equal(s.bytes(), 250);
});

Deno.test("stdin window: an ended stream releases the waiting writer and sends nothing more", async () => {
  const s = sink();
  const w = new StdinWindow(10, s.sink);
  const waiting = w.write(new Uint8Array(20));
  w.end();
  await waiting;
  w.credit(100);
  w.closeStdin();
  assert.deepEqual(s.sent, [10]);
});

Deno.test("stdin window: a worker that offered no window (older versions) is unmetered", async () => {
  const s = sink();
  const w = new StdinWindow(undefined, s.sink);
  for (let i = 0; i < 100; i++) await w.write(new Uint8Array(1024 * 1024));
  w.closeStdin();
  assert.equal(s.bytes(), 100 * 1024 * 1024);
  assert.equal(s.sent.at(-1), "close");
});

import assert from "node:assert/strict";
import { PeerSender } from "./peer_sender.ts";

const msg = (n: number, size = 10) => new Uint8Array(size).fill(n);

/** A send function whose calls the test resolves or rejects by hand. */
function manualSend() {
  const calls: { batch: Uint8Array[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const send = (batch: Uint8Array[]) =>
    new Promise<void>((resolve, reject) => calls.push({ batch, resolve, reject }));
  return { calls, send };
}

Deno.test("peer sender: batches what queued while a batch was in flight", async () => {
  const { calls, send } = manualSend();
  const s = new PeerSender({ send, maxInflightBatches: 1 });
  s.enqueue(msg(1));
  s.enqueue(msg(2));
  s.enqueue(msg(3));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].batch.map((m) => m[0]), [1]);
  calls[0].resolve();
  await Promise.resolve();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1].batch.map((m) => m[0]), [2, 3]);
  calls[1].resolve();
  await s.idle();
  assert.deepEqual(s.stats, { sentMsgs: 3, sentBatches: 2, droppedMsgs: 0, failedBatches: 0 });
});

Deno.test("peer sender: batches respect the byte limit and pipeline up to the inflight limit", async () => {
  const { calls, send } = manualSend();
  const s = new PeerSender({ send, maxInflightBatches: 2, maxBatchBytes: 25 });
  for (let i = 0; i < 2; i++) s.enqueue(msg(i)); // two single-message batches go out at once
  for (let i = 2; i < 7; i++) s.enqueue(msg(i));
  assert.equal(calls.length, 2);
  // Resolve batches as they come until all seven messages went out.
  for (let done = 0; done < calls.length; done++) {
    calls[done].resolve();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.equal(calls.length, 5); // [0] [1] [2,3] [4,5] [6]
  for (const c of calls.slice(2)) assert.ok(c.batch.reduce((a, m) => a + m.byteLength, 0) <= 25);
  assert.deepEqual(calls.flatMap((c) => c.batch.map((m) => m[0])), [0, 1, 2, 3, 4, 5, 6]);
  for (const c of calls) c.resolve();
  await s.idle();
});

Deno.test("peer sender: a full queue drops and reports; a failed batch reports", async () => {
  const { calls, send } = manualSend();
  const reasons: string[] = [];
  const s = new PeerSender({
    send,
    maxInflightBatches: 1,
    maxQueueMsgs: 2,
    onUnreachable: (r) => reasons.push(r),
  });
  assert.equal(s.enqueue(msg(1)), true); // in flight
  assert.equal(s.enqueue(msg(2)), true);
  assert.equal(s.enqueue(msg(3)), true);
  assert.equal(s.enqueue(msg(4)), false);
  assert.deepEqual(reasons, ["send queue full"]);
  calls[0].reject(new Error("connection refused"));
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(reasons.includes("connection refused"));
  calls[1].resolve();
  await s.idle();
  assert.equal(s.stats.droppedMsgs, 1);
  assert.equal(s.stats.failedBatches, 1);
  assert.equal(s.stats.sentMsgs, 2);
});

Deno.test("peer sender: close drops the queue and refuses new messages", async () => {
  const { calls, send } = manualSend();
  const s = new PeerSender({ send, maxInflightBatches: 1 });
  s.enqueue(msg(1));
  s.enqueue(msg(2));
  s.close();
  assert.equal(s.enqueue(msg(3)), false);
  calls[0].resolve();
  await s.idle();
  assert.equal(calls.length, 1);
  assert.equal(s.stats.droppedMsgs, 2);
});

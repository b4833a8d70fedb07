import assert from "node:assert/strict";
import { GrpcRaftTransport, type GrpcRaftTransportOptions, raftService } from "./grpc_transport.ts";
import { type GrpcServer, startGrpcServer } from "../grpc/server.ts";
import { RaftServiceService } from "../../proto/gen/warren.ts";

const CLUSTER = "c-test";

/** A receiving peer: a real gRPC server hosting raftService, recording what it got. */
async function receiver(id: string, port = 0) {
  const got: { from: string; msg: number }[] = [];
  const server = await startGrpcServer({
    address: `127.0.0.1:${port}`,
    services: [raftService({
      clusterId: CLUSTER,
      selfId: id,
      onMessages: (from, msgs) => {
        for (const m of msgs) {
          got.push({ from, msg: new DataView(m.buffer, m.byteOffset).getUint32(0) });
        }
      },
    })],
  });
  return { server, got, address: `127.0.0.1:${server.port}` };
}

function msg(n: number, sizeBytes = 64): Uint8Array {
  const b = new Uint8Array(sizeBytes);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** A transport from "a" that counts unreachable reports per peer. */
function sender(opts: Partial<GrpcRaftTransportOptions> = {}) {
  const unreachable = new Map<string, number>();
  const t = new GrpcRaftTransport({
    clusterId: CLUSTER,
    selfId: "a",
    onUnreachable: (p) => unreachable.set(p, (unreachable.get(p) ?? 0) + 1),
    ...opts,
  });
  return { t, unreachable };
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("raft transport (stream): messages arrive in the order sent, batched", async () => {
  const b = await receiver("b");
  const { t, unreachable } = sender();
  try {
    t.setPeer("b", b.address);
    const n = 3000;
    for (let i = 0; i < n; i++) t.send("b", msg(i));
    await until(() => b.got.length === n, `${n} messages at b`);
    assert.deepEqual(b.got.map((g) => g.msg), Array.from({ length: n }, (_, i) => i));
    assert.ok(b.got.every((g) => g.from === "a"));
    const st = t.stats().b;
    assert.equal(st.sentMsgs, n);
    assert.ok(st.sentBatches < n / 10, `${st.sentBatches} batches for ${n} messages`);
    assert.equal(unreachable.size, 0);
  } finally {
    t.close();
    await b.server.stop(0);
  }
});

Deno.test("raft transport (stream): reconnects after the peer restarts", async () => {
  let b = await receiver("b");
  const port = b.server.port;
  const { t, unreachable } = sender({ sendTimeoutMs: 500 });
  try {
    t.setPeer("b", b.address);
    t.send("b", msg(1));
    await until(() => b.got.length === 1, "the first message");
    await b.server.stop(0);
    // The peer is gone: sends fail and are reported until it is back.
    for (let i = 0; !unreachable.get("b"); i++) {
      t.send("b", msg(100 + i));
      await new Promise((r) => setTimeout(r, 10));
      if (i > 500) throw new Error("the dead peer was never reported unreachable");
    }
    b = await receiver("b", port);
    // Keep sending (as Raft's heartbeats would) until one arrives over a new stream.
    await until(() => {
      t.send("b", msg(2));
      return b.got.some((g) => g.msg === 2);
    }, "a message after the restart");
  } finally {
    t.close();
    await b.server.stop(0);
  }
});

Deno.test("raft transport (stream): a peer refusing connections fails batches, reported", async () => {
  // Bind a port, then free it: nothing listens there.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const { t, unreachable } = sender();
  try {
    t.setPeer("b", `127.0.0.1:${port}`);
    t.send("b", msg(1));
    await until(() => (unreachable.get("b") ?? 0) > 0, "an unreachable report");
    // While the stream is down (backing off), batches fail at once instead of piling up.
    await until(() => {
      t.send("b", msg(2));
      return t.stats().b.failedBatches > 0;
    }, "a failed batch");
  } finally {
    t.close();
  }
});

Deno.test("raft transport (stream): a hung peer fills the bounded queue, which drops", async () => {
  // Accepts TCP connections but never speaks HTTP/2: writes cannot flush.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of l) conns.push(c);
  })();
  const { t, unreachable } = sender({ maxQueueMsgs: 16, sendTimeoutMs: 300 });
  try {
    t.setPeer("b", `127.0.0.1:${(l.addr as Deno.NetAddr).port}`);
    // 64 KiB messages: gRPC's per-call write buffer (256 KiB) fills after a few, then writes
    // stay unflushed, the in-flight window and the queue fill, and the rest is dropped.
    for (let i = 0; i < 100; i++) t.send("b", msg(i, 64 << 10));
    await until(() => t.stats().b.droppedMsgs > 0, "drops");
    assert.ok((unreachable.get("b") ?? 0) >= t.stats().b.droppedMsgs);
    // The stuck write times out: the stream is reset and the batch counts as failed.
    await until(() => t.stats().b.failedBatches > 0, "the stuck write to time out");
  } finally {
    t.close();
    l.close();
    for (const c of conns) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("raft transport (stream): a refused batch ends the stream; nothing is delivered", async () => {
  const b = await receiver("b");
  const { t, unreachable } = sender({ clusterId: "another-cluster" });
  try {
    t.setPeer("b", b.address);
    t.send("b", msg(1));
    await until(() => (unreachable.get("b") ?? 0) > 0, "the refusal to be reported");
    assert.equal(b.got.length, 0);
  } finally {
    t.close();
    await b.server.stop(0);
  }
});

Deno.test("raft transport: falls back to unary Send for a peer without Stream", async () => {
  const got: number[] = [];
  // An older peer: RaftService with only Send implemented (Stream answers UNIMPLEMENTED).
  const server: GrpcServer = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{
      definition: RaftServiceService,
      implementation: {
        send: (
          call: { request: { messages: Uint8Array[] } },
          cb: (e: null, r: { accepted: number }) => void,
        ) => {
          for (const m of call.request.messages) {
            got.push(new DataView(m.buffer, m.byteOffset).getUint32(0));
          }
          cb(null, { accepted: call.request.messages.length });
        },
      },
    }],
  });
  const { t } = sender();
  try {
    t.setPeer("b", `127.0.0.1:${server.port}`);
    await until(() => {
      t.send("b", msg(7));
      return got.includes(7);
    }, "a message over unary Send");
  } finally {
    t.close();
    await server.stop(0);
  }
});

Deno.test("raft transport (unary mode): delivers in order too", async () => {
  const b = await receiver("b");
  const { t } = sender({ mode: "unary", maxInflightBatches: 1 });
  try {
    t.setPeer("b", b.address);
    for (let i = 0; i < 500; i++) t.send("b", msg(i));
    await until(() => b.got.length === 500, "500 messages");
    assert.deepEqual(b.got.map((g) => g.msg), Array.from({ length: 500 }, (_, i) => i));
  } finally {
    t.close();
    await b.server.stop(0);
  }
});

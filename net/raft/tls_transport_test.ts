/**
 * The framed Raft transport over real loopback sockets: plain TCP and mutual TLS with
 * certificates minted by manager/security/ca.ts.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { startTlsRaftServer, type TlsRaftServer, TlsRaftTransport } from "./tls_transport.ts";
import { TlsIdentity } from "../grpc/tls.ts";
import { Inbox, next, numbered, numberOf, recordingLogger } from "./_tls_test_util.ts";
import { createRootCa } from "../../manager/security/ca.ts";
import { issueTestCert } from "../../manager/security/_certs_test_util.ts";

const newCa = (clusterId: string) =>
  createRootCa({ clusterId, lifetimeMs: 3_600_000, now: Date.now() });

/** A server for m1 and a transport for m2 in cluster c1, closed together. */
async function pair(opts: {
  serverIdentity?: TlsIdentity;
  clientIdentity?: TlsIdentity;
  clientCluster?: string;
  maxQueueMsgs?: number;
  isRemoved?: (fromId: string) => boolean;
} = {}) {
  const inbox = new Inbox();
  const refusals: string[] = [];
  const log = recordingLogger([], (msg, f) => refusals.push(`${msg}: ${f.reason ?? f.from}`));
  const server = await startTlsRaftServer({
    address: "127.0.0.1:0",
    identity: opts.serverIdentity,
    clusterId: "c1",
    selfId: "m1",
    onMessages: inbox.onMessages,
    allowedRole: "manager",
    ...(opts.isRemoved ? { isRemoved: opts.isRemoved } : {}),
    log,
  });
  const unreachable: string[] = [];
  const removedBy: string[] = [];
  let onRemoved = (_peer: string) => {};
  let onUnreachable = (_reason: string) => {};
  const transport = new TlsRaftTransport({
    clusterId: opts.clientCluster ?? "c1",
    selfId: "m2",
    identity: opts.clientIdentity,
    maxQueueMsgs: opts.maxQueueMsgs,
    onUnreachable: (peer, reason) => {
      assert.equal(peer, "m1");
      unreachable.push(reason);
      onUnreachable(reason);
    },
    onRemoved: (peer) => {
      removedBy.push(peer);
      onRemoved(peer);
    },
  });
  transport.setPeer("m1", `127.0.0.1:${server.port}`);
  return {
    server,
    transport,
    inbox,
    refusals,
    unreachable,
    removedBy,
    /** Resolves with the peer of the next "removed" notice. */
    nextRemoved: () => next<string>((cb) => (onRemoved = cb)),
    /** Resolves with the next unreachable report. */
    nextUnreachable: () => next<string>((cb) => (onUnreachable = cb)),
    async [Symbol.asyncDispose]() {
      transport.close();
      await server.close();
    },
  };
}

function assertInOrder(inbox: Inbox, n: number, from = 0) {
  const got = inbox.messages.slice(from).map((m) => numberOf(m.msg));
  assert.equal(got.length, n);
  got.forEach((v, i) => assert.equal(v, i, `message ${i} arrived as ${v}`));
}

Deno.test("tls transport: 10,000 messages arrive in order, one socket write per turn (TCP)", async () => {
  await using p = await pair({ maxQueueMsgs: 10_000 });
  for (let i = 0; i < 10_000; i++) p.transport.send("m1", numbered(i));
  assert.ok(await p.inbox.waitFor(10_000), "all 10,000 arrive");
  assertInOrder(p.inbox, 10_000);
  assert.ok(p.inbox.messages.every((m) => m.from === "m2"));
  // Sent in one synchronous turn: one write (the handshake went on its own before).
  assert.deepEqual(p.transport.stats().m1, {
    sentMsgs: 10_000,
    sentBatches: 1,
    droppedMsgs: 0,
    failedBatches: 0,
  });
});

Deno.test("tls transport: 10,000 messages over mutual TLS, sent over many turns, in order", async () => {
  const ca = await newCa("c1");
  await using p = await pair({
    serverIdentity: new TlsIdentity(await issueTestCert(ca, "m1", "manager")),
    clientIdentity: new TlsIdentity(await issueTestCert(ca, "m2", "manager")),
  });
  for (let i = 0; i < 10_000; i++) {
    p.transport.send("m1", numbered(i));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(await p.inbox.waitFor(10_000), "all 10,000 arrive");
  assertInOrder(p.inbox, 10_000);
  assert.deepEqual(p.unreachable, []);
  assert.ok(p.transport.stats().m1.sentBatches <= 100);
});

Deno.test("tls transport: reconnects after the peer restarts on the same port", async () => {
  await using p = await pair();
  p.transport.send("m1", numbered(0));
  assert.ok(await p.inbox.waitFor(1));
  const port = p.server.port;
  const lost = p.nextUnreachable();
  await p.server.close();
  assert.match(await lost, /closed|reset|ECONNRESET/);
  assert.equal(p.transport.connected("m1"), false);
  const inbox = new Inbox();
  const again: TlsRaftServer = await startTlsRaftServer({
    address: `127.0.0.1:${port}`,
    clusterId: "c1",
    selfId: "m1",
    onMessages: inbox.onMessages,
  });
  try {
    // Sends during the backoff are dropped; keep sending as Raft's heartbeats would.
    let i = 1;
    const deadline = Date.now() + 5000;
    while (!(await inbox.waitFor(1, 20))) {
      assert.ok(Date.now() < deadline, "reconnected within 5 s");
      p.transport.send("m1", numbered(i++));
    }
    p.transport.send("m1", numbered(i));
    assert.ok(await inbox.waitFor(2));
    const got = inbox.messages.map((m) => numberOf(m.msg));
    assert.equal(got[1], got[0] + 1, "in order after the reconnect");
    assert.ok(p.transport.stats().m1.failedBatches >= 1);
  } finally {
    await again.close();
  }
});

Deno.test("tls transport: a wrong cluster or receiver is closed with a logged reason", async () => {
  await using p = await pair({ clientCluster: "c2" });
  const lost = p.nextUnreachable();
  p.transport.send("m1", numbered(0));
  await lost;
  assert.equal(p.inbox.messages.length, 0);
  assert.deepEqual(p.refusals, ["closed a Raft connection: handshake for cluster c2, this is c1"]);

  // The same server, dialed as if it were m3.
  let refused = () => {};
  const wasRefused = new Promise<void>((r) => (refused = r));
  const t = new TlsRaftTransport({ clusterId: "c1", selfId: "m2", onUnreachable: () => refused() });
  try {
    t.setPeer("m3", `127.0.0.1:${p.server.port}`);
    t.send("m3", numbered(0));
    await wasRefused;
    assert.equal(p.inbox.messages.length, 0);
    assert.equal(p.refusals[1], "closed a Raft connection: handshake for node m3, this is m1");
  } finally {
    t.close();
  }
});

Deno.test("tls transport: a node the receiver records as removed is told so, and its messages dropped", async () => {
  const ca = await newCa("c1");
  const removed = new Set<string>();
  await using p = await pair({
    serverIdentity: new TlsIdentity(await issueTestCert(ca, "m1", "manager")),
    clientIdentity: new TlsIdentity(await issueTestCert(ca, "m2", "manager")),
    isRemoved: (id) => removed.has(id),
  });
  // A member is served as before.
  p.transport.send("m1", numbered(0));
  assert.ok(await p.inbox.waitFor(1));
  assert.deepEqual(p.removedBy, []);

  // Removed while connected: told at its next message, which is dropped.
  removed.add("m2");
  let told = p.nextRemoved();
  p.transport.send("m1", numbered(1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((
    r,
  ) => (timer = setTimeout(() => r("no notice in 5 s"), 5000)));
  assert.equal(await Promise.race([told, timeout]), "m1");
  clearTimeout(timer);
  await p.nextUnreachable();
  assert.equal(p.transport.connected("m1"), false);

  // A new connection is told at its handshake (as a removed manager restarted on its data dir).
  told = p.nextRemoved();
  const deadline = Date.now() + 5000;
  while (p.removedBy.length < 2) {
    assert.ok(Date.now() < deadline, "told again within 5 s");
    p.transport.send("m1", numbered(2));
    await Promise.race([told, new Promise((r) => setTimeout(r, 20))]);
  }
  assert.deepEqual(p.removedBy, ["m1", "m1"]);
  assert.equal(p.inbox.messages.length, 1, "nothing from the removed node got through");
  // Logged once, however often it comes back.
  assert.deepEqual(p.refusals, [
    "refused the Raft connection of a node removed from the cluster: m2",
  ]);
});

Deno.test("tls transport: a worker certificate may not send Raft messages", async () => {
  const ca = await newCa("c1");
  await using p = await pair({
    serverIdentity: new TlsIdentity(await issueTestCert(ca, "m1", "manager")),
    clientIdentity: new TlsIdentity(await issueTestCert(ca, "m2", "worker")),
  });
  const lost = p.nextUnreachable();
  p.transport.send("m1", numbered(0));
  await lost;
  assert.equal(p.inbox.messages.length, 0);
  assert.deepEqual(p.refusals, [
    "closed a Raft connection: role worker may not send Raft messages",
  ]);
});

Deno.test("tls transport: a certificate from another CA is refused, either side", async () => {
  const ca = await newCa("c1");
  const other = await newCa("c1");
  const stranger = await issueTestCert(other, "m2", "manager");
  {
    // Client from another CA (trusting ours, so only the server can refuse it).
    await using p = await pair({
      serverIdentity: new TlsIdentity(await issueTestCert(ca, "m1", "manager")),
      clientIdentity: new TlsIdentity({ ...stranger, caPem: ca.certPem }),
    });
    const lost = p.nextUnreachable();
    p.transport.send("m1", numbered(0));
    await lost;
    assert.equal(p.inbox.messages.length, 0);
    assert.equal(p.server.connections, 0);
  }
  {
    // Server from another CA: the client refuses it and never sends.
    await using p = await pair({
      serverIdentity: new TlsIdentity(await issueTestCert(other, "m1", "manager")),
      clientIdentity: new TlsIdentity(await issueTestCert(ca, "m2", "manager")),
    });
    const lost = p.nextUnreachable();
    p.transport.send("m1", numbered(0));
    assert.match(await lost, /certificate/i);
    assert.equal(p.inbox.messages.length, 0);
  }
});

Deno.test("tls transport: the queue drops instead of blocking when a peer stops reading", async () => {
  const held = new Set<net.Socket>();
  // Accepts and never reads: the kernel buffers fill, then the sender's queue.
  const hung = net.createServer((s) => {
    held.add(s);
    s.pause();
  });
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  const reasons: string[] = [];
  const t = new TlsRaftTransport({
    clusterId: "c1",
    selfId: "m2",
    maxQueueMsgs: 64,
    writeTimeoutMs: 500,
    onUnreachable: (_p, r) => reasons.push(r),
  });
  try {
    t.setPeer("m1", `127.0.0.1:${(hung.address() as net.AddressInfo).port}`);
    const big = new Uint8Array(64 << 10);
    const deadline = Date.now() + 10_000;
    while (t.stats().m1.droppedMsgs === 0) {
      assert.ok(Date.now() < deadline, "the queue fills within 10 s");
      const t0 = performance.now();
      for (let i = 0; i < 16; i++) t.send("m1", big);
      assert.ok(performance.now() - t0 < 50, "send never blocks");
      await new Promise((r) => setTimeout(r, 0));
    }
    const st = t.stats().m1;
    assert.ok(st.sentMsgs > 0, "messages went out before the peer's buffers filled");
    assert.ok(reasons.includes("send queue full"));
    // The stuck write resets the connection after writeTimeoutMs.
    while (!reasons.some((r) => /not drained/.test(r))) {
      assert.ok(Date.now() < deadline + 5000, "the stuck connection is reset");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(t.connected("m1"), false);
  } finally {
    t.close();
    for (const s of held) s.destroy();
    await new Promise((r) => hung.close(r));
  }
});

Deno.test("tls transport: renewed certificates are used by new connections, both sides", async () => {
  const ca = await newCa("c1");
  // The server starts with a certificate of the wrong node, the client with a worker one.
  const serverId = new TlsIdentity(await issueTestCert(ca, "m9", "manager"));
  const clientId = new TlsIdentity(await issueTestCert(ca, "m2", "worker"));
  await using p = await pair({ serverIdentity: serverId, clientIdentity: clientId });
  let lost = p.nextUnreachable();
  p.transport.send("m1", numbered(0));
  assert.match(await lost, /dialed Raft peer m1, reached m9/);

  await serverId.update(await issueTestCert(ca, "m1", "manager"));
  lost = p.nextUnreachable();
  const deadline = Date.now() + 5000;
  const keepSending = async (until: () => boolean) => {
    while (!until()) {
      assert.ok(Date.now() < deadline, "within 5 s");
      p.transport.send("m1", numbered(1));
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await keepSending(() => p.refusals.length > 0);
  await lost;
  assert.deepEqual(p.refusals, [
    "closed a Raft connection: role worker may not send Raft messages",
  ]);

  // Promoted: the client's next connection presents the manager certificate.
  await clientId.update(await issueTestCert(ca, "m2", "manager"));
  await keepSending(() => p.inbox.messages.length > 0);
  assert.equal(p.inbox.messages[0].from, "m2");
});

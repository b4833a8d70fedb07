/**
 * How the gRPC server stops: with calls in flight answered and new ones turned away, and without
 * an HTTP/2 GOAWAY or a session teardown of its own (see server.ts for why). A TCP relay between
 * client and server reads the server's HTTP/2 frame headers, so the test sees what went on the
 * wire; the control case shows the relay does see grpc-js's own GOAWAY.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import net from "node:net";
import { type GrpcServer, startGrpcServer } from "./server.ts";
import { rawMethod } from "./_echo_service.ts";
import {
  channelCredentials,
  channelOptionsFor,
  MANAGER_SERVER_NAME,
  serverCredentials,
} from "./tls.ts";
import { createRootCa } from "../../manager/security/ca.ts";
import { issueTestCert } from "../../manager/security/_certs_test_util.ts";

const definition = {
  slow: rawMethod("/test.T/Slow"),
  fast: rawMethod("/test.T/Fast"),
  watch: rawMethod("/test.T/Watch", true),
};

/** A service whose `slow` call answers when the test says so. */
function service() {
  let release = () => {};
  const slowStarted = Promise.withResolvers<void>();
  const implementation = {
    slow: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => {
      release = () => cb(null, Buffer.from("slow done"));
      slowStarted.resolve();
    },
    fast: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from("fast")),
    watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => call.write(Buffer.from("hello")),
  };
  return { implementation, slowStarted: slowStarted.promise, release: () => release() };
}

/** Relays one TCP port to another and records the type of every HTTP/2 frame the server sent. */
async function frameRelay(target: number) {
  const frames: number[] = [];
  const seen = { bytes: 0 };
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    sockets.push(client, upstream);
    client.pipe(upstream);
    let buf = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => {
      client.write(chunk);
      seen.bytes += chunk.length;
      // Server to client has no preface: frames from the first byte. Header: 24-bit length,
      // 8-bit type, flags, stream id.
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        frames.push(buf[3]);
        buf = buf.subarray(9 + len);
      }
    });
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("error", () => {});
    client.on("error", () => {});
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    frames,
    /** Bytes the server sent so far (for TLS, where frames cannot be read). */
    bytes: () => seen.bytes,
    [Symbol.dispose]() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const GOAWAY = 0x7;

function connect(
  port: number,
  creds = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
) {
  const Client = grpc.makeGenericClientConstructor(definition, "T");
  // deno-lint-ignore no-explicit-any
  const c = new Client(`127.0.0.1:${port}`, creds, options) as any;
  const call = (name: "slow" | "fast") =>
    new Promise<string>((resolve, reject) =>
      c[name](
        Buffer.from("x"),
        { deadline: Date.now() + 10_000 },
        (err: Error, v: Buffer) => err ? reject(err) : resolve(v.toString()),
      )
    );
  return { client: c as grpc.Client, call };
}

Deno.test("server: stop answers the call in flight, refuses new ones, ends streams, sends no GOAWAY", async () => {
  const svc = service();
  const server: GrpcServer = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{ definition, implementation: svc.implementation }],
  });
  using relay = await frameRelay(server.port);
  const { client, call } = connect(relay.port);
  try {
    assert.equal(await call("fast"), "fast");
    // deno-lint-ignore no-explicit-any
    const watch = (client as any).watch(Buffer.from("x")) as grpc.ClientReadableStream<Buffer>;
    const watchEnded = new Promise<grpc.StatusObject>((done) => {
      watch.on("error", () => {});
      watch.on("status", done);
    });
    await new Promise((done) => watch.once("data", done));
    const slow = call("slow");
    await svc.slowStarted;

    const stopped = server.stop(10_000);
    await assert.rejects(call("fast"), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.details, /shutting down/);
      return true;
    });
    svc.release();
    assert.equal(await slow, "slow done");
    await stopped;
    assert.equal((await watchEnded).code, grpc.status.UNAVAILABLE);
    assert.ok(relay.frames.length > 0, "the relay saw the server's frames");
    assert.ok(!relay.frames.includes(GOAWAY), `frames from the server: ${relay.frames}`);
  } finally {
    client.close();
    await server.stop(0);
  }
});

Deno.test("server: grpc-js's own shutdown does send a GOAWAY (the relay can see one)", async () => {
  const svc = service();
  const server = new grpc.Server();
  server.addService(definition, svc.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  using relay = await frameRelay(port);
  const { client, call } = connect(relay.port);
  try {
    assert.equal(await call("fast"), "fast");
    await new Promise<void>((done) => server.tryShutdown(() => done()));
    assert.ok(relay.frames.includes(GOAWAY), `frames from the server: ${relay.frames}`);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

Deno.test("server: stop with nothing in flight returns at once and can be called twice", async () => {
  const svc = service();
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{ definition, implementation: svc.implementation }],
  });
  const { client, call } = connect(server.port);
  assert.equal(await call("fast"), "fast");
  await Promise.all([server.stop(60_000), server.stop()]);
  client.close();
});

Deno.test("server: over TLS too, stop sends nothing after the last answer", async () => {
  const now = Date.now();
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now });
  const material = await issueTestCert(ca, "m1", "manager", { now });
  const svc = service();
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{ definition, implementation: svc.implementation }],
    credentials: serverCredentials(material, { clientCert: "optional" }),
  });
  using relay = await frameRelay(server.port);
  const { client, call } = connect(
    relay.port,
    channelCredentials({ caPem: ca.certPem }),
    channelOptionsFor(MANAGER_SERVER_NAME),
  );
  try {
    assert.equal(await call("fast"), "fast");
    const before = relay.bytes();
    // grpc-js's own shutdown would send an encrypted GOAWAY here (and TLS a close_notify).
    await server.stop(1000);
    await assert.rejects(
      call("fast"),
      (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE,
    );
    assert.equal(relay.bytes(), before);
  } finally {
    client.close();
  }
});

/**
 * The generated gRPC code and the converter together over a real grpc-js server and client on
 * 127.0.0.1: unary (ServiceService.Create), server streaming (EventService.Watch) and client
 * streaming (RaftService.Stream) calls carry domain values intact.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { codecs } from "./convert.ts";
import type { ValidationError } from "./errors.ts";
import * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";

async function startServer(
  register: (server: grpc.Server) => void,
): Promise<{ address: string; [Symbol.asyncDispose](): Promise<void> }> {
  const server = new grpc.Server();
  register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  return {
    address: `127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}

Deno.test("grpc contract: unary, server-stream and client-stream calls over loopback", async () => {
  const received: d.ServiceSpec[] = [];
  await using server = await startServer((s) => {
    s.addService(w.ServiceServiceService, {
      create: (
        call: grpc.ServerUnaryCall<w.CreateServiceRequest, w.Service>,
        cb: grpc.sendUnaryData<w.Service>,
      ) => {
        try {
          const req = codecs.CreateServiceRequest.fromWire(call.request);
          received.push(req.spec);
          cb(
            null,
            codecs.Service.toWire({
              id: "svc-1",
              spec: req.spec,
              specVersion: 1,
              createdAt: 5,
              updatedAt: 5,
            }),
          );
        } catch (err) {
          const e = err as ValidationError;
          cb({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
        }
      },
    } as Partial<w.ServiceServiceServer> as w.ServiceServiceServer);
    s.addService(w.EventServiceService, {
      watch: (call: grpc.ServerWritableStream<w.WatchRequest, w.Event>) => {
        const req = codecs.WatchRequest.fromWire(call.request);
        for (let i = 0; i < 3; i++) {
          const index = req.fromIndex + i;
          call.write(codecs.Event.toWire({
            index,
            kind: "secret",
            action: "create",
            timestamp: index,
            secret: d.SecretSchema.parse({
              id: `s${index}`,
              name: `s${index}`,
              version: 1,
              createdAt: index,
            }),
          }));
        }
        call.end();
      },
    });
    s.addService(w.RaftServiceService, {
      send: (_call: unknown, cb: grpc.sendUnaryData<w.RaftAck>) => cb(null, { accepted: 0 }),
      stream: (
        call: grpc.ServerReadableStream<w.RaftBatch, w.RaftAck>,
        cb: grpc.sendUnaryData<w.RaftAck>,
      ) => {
        let accepted = 0;
        call.on(
          "data",
          (b: w.RaftBatch) => (accepted += codecs.RaftBatch.fromWire(b).messages.length),
        );
        call.on("end", () => cb(null, codecs.RaftAck.toWire({ accepted })));
      },
    });
  });

  const services = new w.ServiceServiceClient(server.address, grpc.credentials.createInsecure());
  const events = new w.EventServiceClient(server.address, grpc.credentials.createInsecure());
  const raft = new w.RaftServiceClient(server.address, grpc.credentials.createInsecure());
  try {
    // Unary: a full spec arrives equal and the answer converts back.
    const spec = d.ServiceSpecSchema.parse({
      name: "web",
      image: "127.0.0.1:5000/web:1",
      replicas: 0,
      ports: [{ target: 80, published: 8080 }],
      healthCheck: { type: "tcp", tcp: { port: 80 } },
    });
    const reply = await new Promise<w.Service>((resolve, reject) =>
      services.create(
        codecs.CreateServiceRequest.toWire({ spec }),
        (err, res) => (err ? reject(err) : resolve(res)),
      )
    );
    assert.deepEqual(received, [spec]);
    assert.deepEqual(codecs.Service.fromWire(reply).spec, spec);

    // Invalid input is rejected by the server's converter with the field path.
    const bad = await new Promise<grpc.ServiceError>((resolve, reject) =>
      services.create(
        w.CreateServiceRequest.fromPartial({ spec: { name: "Web_1", image: "busybox" } }),
        (err) => (err ? resolve(err) : reject(new Error("expected an error"))),
      )
    );
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(bad.details.split(":")[0], "spec.name");

    // Server stream: events in order from the requested index.
    const got: d.Event[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = events.watch(codecs.WatchRequest.toWire({ fromIndex: 10, kinds: ["secret"] }));
      stream.on("data", (e: w.Event) => got.push(codecs.Event.fromWire(e)));
      stream.on("error", reject);
      stream.on("end", resolve);
    });
    assert.deepEqual(got.map((e) => [e.index, e.kind, e.kind === "secret" ? e.secret.name : ""]), [
      [10, "secret", "s10"],
      [11, "secret", "s11"],
      [12, "secret", "s12"],
    ]);

    // Client stream: batches of opaque bytes are counted on close.
    const ack = await new Promise<w.RaftAck>((resolve, reject) => {
      const call = raft.stream((err, res) => (err ? reject(err) : resolve(res!)));
      for (let i = 0; i < 3; i++) {
        call.write(codecs.RaftBatch.toWire({
          clusterId: "c",
          fromId: "m1",
          toId: "m2",
          messages: [new Uint8Array([i]), new Uint8Array(1024)],
        }));
      }
      call.end();
    });
    assert.deepEqual(codecs.RaftAck.fromWire(ack), { accepted: 6 });
  } finally {
    services.close();
    events.close();
    raft.close();
  }
});

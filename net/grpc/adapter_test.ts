import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { serverStream } from "./adapter.ts";
import { startGrpcServer } from "./server.ts";
import { rawMethod } from "./_echo_service.ts";

const definition = { watch: rawMethod("/test.A/Watch", true) };

Deno.test("serverStream: a client that leaves while the stream waits for flow control ends the handler", async () => {
  const blocked = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  const chunk = Buffer.alloc(64 * 1024, 1);
  const watch = serverStream<Buffer, Buffer>("T/Watch", async function* (_req, signal, call) {
    // Tells the test once write() says wait (the windows and the stream's buffer are full).
    const write = call.write.bind(call) as (b: Buffer) => boolean;
    call.write = ((b: Buffer) => write(b) || (blocked.resolve(), false)) as typeof call.write;
    try {
      while (!signal.aborted) yield chunk;
    } finally {
      finished.resolve();
    }
  });
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{ definition, implementation: { watch } }],
  });
  const Client = grpc.makeGenericClientConstructor(definition, "A");
  // deno-lint-ignore no-explicit-any
  const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as any;
  try {
    const call = client.watch(Buffer.from("x")) as grpc.ClientReadableStream<Buffer>;
    call.on("error", () => {});
    // Read nothing: the server fills the windows and waits for a drain.
    call.pause();
    await blocked.promise;
    call.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      finished.promise.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), 5_000)),
    ]);
    clearTimeout(timer);
    assert.ok(ended, "the handler's generator was left suspended after the client went away");
  } finally {
    client.close();
    await server.stop(0);
  }
});

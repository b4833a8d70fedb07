import assert from "node:assert/strict";
import { Client, Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { codecs } from "../proto/convert.ts";
import * as wire from "../proto/gen/warren.ts";
import type { LogEntry } from "../runtime/runtime.ts";
import { assignment, fakeRuntime, message, until } from "./_test_util.ts";
import { Tunnel } from "./tunnel.ts";
import { Worker } from "./worker.ts";

type Call = ServerDuplexStream<wire.TunnelUp, wire.TunnelDown>;

/** A manager end that asks for one task's logs (follow) and then never reads again. */
async function stalledManager(taskId: string) {
  const server = new Server();
  const opened = Promise.withResolvers<Call>();
  server.addService(wire.TunnelServiceService, {
    open: (call: Call) => {
      call.once("data", () => {
        call.pause(); // a slow reader: HTTP/2 flow control soon blocks the worker's writes
        call.write(codecs.TunnelDown.toWire({
          streamId: 1,
          logs: { taskId, follow: true },
          closeStdin: false,
          cancel: false,
          ping: false,
        }));
        opened.resolve(call);
      });
      call.on("error", () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  return {
    address: `127.0.0.1:${port}`,
    opened: opened.promise,
    stop: () => server.forceShutdown(),
  };
}

Deno.test("tunnel: a request blocked on flow control ends with its tunnel (its log reader is closed)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-tunnel-" });
  const { runtime, clock } = fakeRuntime();
  const worker = await Worker.open({ nodeId: "node1", dataDir: dir, runtime, clock });
  const manager = await stalledManager("web1");
  try {
    worker.applyAssignments(message([assignment({}, { id: "web1" })]));
    await until(() => worker.runner("web1")?.status.state === "running", "running", clock);
    // A task that prints without end: the worker sends as long as the manager reads.
    let closed = false;
    const line = "x".repeat(64 * 1024);
    Object.assign(runtime, {
      logs: async function* (): AsyncGenerator<LogEntry> {
        try {
          for (;;) yield { stream: "stdout", line, ts: new Date(0) };
        } finally {
          closed = true;
        }
      },
    });
    // Tells when a write on the tunnel found its buffer full (the worker then waits to send).
    const blocked = Promise.withResolvers<void>();
    const open = Client.prototype.makeBidiStreamRequest;
    Client.prototype.makeBidiStreamRequest = function (this: Client, ...args: unknown[]) {
      const call = (open as (...a: unknown[]) => ReturnType<typeof open>).apply(this, args);
      const write = call.write.bind(call) as (m: unknown) => boolean;
      Object.assign(call, {
        write: (m: unknown) => write(m) || (blocked.resolve(), false),
      });
      return call;
    } as typeof open;
    let tunnel: Tunnel;
    try {
      tunnel = Tunnel.start({ worker, managers: () => [manager.address] });
      await manager.opened;
      await blocked.promise;
    } finally {
      Client.prototype.makeBidiStreamRequest = open;
    }
    assert.ok(!closed);
    // The tunnel goes (here the worker closes it; a dropped connection or a manager that ends
    // it does the same): the request blocked in a send must end with it.
    await tunnel.close();
    await until(() => closed, "the log reader of the dropped tunnel's request closed");
  } finally {
    manager.stop();
    await worker.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { Client, Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { codecs } from "../proto/convert.ts";
import * as wire from "../proto/gen/warren.ts";
import type { TunnelDown, TunnelUp } from "../proto/schema/mod.ts";
import { PIPE_BYTES } from "../runtime/fake.ts";
import type { LogEntry } from "../runtime/runtime.ts";
import { assignment, fakeRuntime, message, until } from "./_test_util.ts";
import { DEFAULT_STDIN_WINDOW_BYTES, Tunnel } from "./tunnel.ts";
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
          stdinCredits: false,
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

/**
 * A manager end driven by the test: it answers the worker's first message with the accepting
 * ping (saying whether it keeps to stdin windows), then sends what the test says.
 */
async function handManager(o: { stdinCredits: boolean }) {
  const server = new Server();
  const ups: TunnelUp[] = [];
  let wake: (() => void) | undefined;
  const opened = Promise.withResolvers<{ call: Call; hello: TunnelUp }>();
  server.addService(wire.TunnelServiceService, {
    open: (call: Call) => {
      call.on("error", () => {});
      call.on("data", (raw: wire.TunnelUp) => {
        const u = codecs.TunnelUp.fromWire(raw);
        if (ups.length === 0) {
          call.write(codecs.TunnelDown.toWire({ ...DOWN, streamId: 0, ping: true, ...o }));
          opened.resolve({ call, hello: u });
        }
        ups.push(u);
        wake?.();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  const opening = opened.promise;
  return {
    address: `127.0.0.1:${port}`,
    opened: opening,
    ups,
    /** Sends a message to the worker; resolves once the call can take more. */
    async down(d: Partial<TunnelDown> & { streamId: number }): Promise<void> {
      const { call } = await opening;
      if (!call.write(codecs.TunnelDown.toWire({ ...DOWN, ...d }))) {
        await new Promise((r) => call.once("drain", r));
      }
    },
    /** Resolves with the first message from the worker matching `pred` (waits for it). */
    async got(pred: (u: TunnelUp) => boolean): Promise<TunnelUp> {
      while (!ups.some(pred)) await new Promise<void>((r) => wake = r);
      return ups.find(pred)!;
    },
    /** Resolves at the worker's next message. */
    next: () => new Promise<void>((r) => wake = r),
    stop: () => server.forceShutdown(),
  };
}

const DOWN = { closeStdin: false, cancel: false, ping: false, stdinCredits: false } as const;
const SLEEP = { taskId: "web1", command: ["sleep", "600"], tty: false, stdin: true, env: [] };

/** A worker running task "web1" on the fake runtime, its tunnel open to `address`. */
async function workerWithTunnel(address: string) {
  const dir = await Deno.makeTempDir({ prefix: "warren-tunnel-" });
  const { runtime, clock } = fakeRuntime();
  const worker = await Worker.open({ nodeId: "node1", dataDir: dir, runtime, clock });
  worker.applyAssignments(message([assignment({}, { id: "web1" })]));
  await until(() => worker.runner("web1")?.status.state === "running", "running", clock);
  const tunnel = Tunnel.start({ worker, managers: () => [address] });
  return {
    tunnel,
    async [Symbol.asyncDispose]() {
      await tunnel.close();
      await worker.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("tunnel: a process that does not read its stdin holds back its leader within one window; the tunnel's other requests go on", async () => {
  const m = await handManager({ stdinCredits: true });
  try {
    await using w = await workerWithTunnel(m.address);
    const { hello } = await m.opened;
    const window = DEFAULT_STDIN_WINDOW_BYTES;
    await m.down({ streamId: 1, exec: SLEEP });
    // The leader's side, as the hub does it: stdin within the window plus the credit given
    // back (everything, from a worker that offers no window). 4 MiB for a process that reads
    // none of it.
    const total = 4 * 1024 * 1024;
    const granted = () => m.ups.reduce((n, u) => n + (u.stdinCredit ?? 0), 0);
    let sent = 0;
    while (sent < total) {
      const credit = (hello.stdinWindow ?? Infinity) + granted() - sent;
      if (credit <= 0) {
        // The fake's pipe takes PIPE_BYTES and no more: once that is credited, no more comes.
        if (sent >= window + PIPE_BYTES) break;
        await m.next();
        continue;
      }
      const n = Math.min(64 * 1024, credit, total - sent);
      sent += n;
      await m.down({ streamId: 1, stdin: new Uint8Array(n) });
    }
    // Another request on the same tunnel is answered meanwhile (and, behind the stdin on the
    // tunnel, shows the worker has taken in everything sent before it).
    await m.down({ streamId: 2, logs: { taskId: "web1", follow: false } });
    await m.got((u) => u.streamId === 2 && u.end);
    await until(() => w.tunnel.stdinBufferedBytes === sent - PIPE_BYTES, "stdin taken in");
    assert.ok(
      w.tunnel.stdinBufferedBytes <= window,
      `the worker buffers ${w.tunnel.stdinBufferedBytes} bytes of stdin, window ${window}`,
    );
    assert.equal(sent, window + PIPE_BYTES);
    // The caller gone: the process is killed and what waited for it is let go.
    await m.down({ streamId: 1, cancel: true });
    await until(() => w.tunnel.stdinBufferedBytes === 0, "stdin freed");
  } finally {
    m.stop();
  }
});

Deno.test("tunnel: a leader that sends stdin past the window fails that exec (RESOURCE_EXHAUSTED)", async () => {
  const m = await handManager({ stdinCredits: true });
  try {
    await using w = await workerWithTunnel(m.address);
    const { hello } = await m.opened;
    await m.down({ streamId: 1, exec: SLEEP });
    // Twice the window: the credit the process could give back (its pipe) covers less than that.
    const window = hello.stdinWindow ?? DEFAULT_STDIN_WINDOW_BYTES;
    for (let sent = 0; sent < 2 * window; sent += 64 * 1024) {
      await m.down({ streamId: 1, stdin: new Uint8Array(64 * 1024) });
    }
    // The worker checks stdin as it arrives: its answer to a later request comes after.
    await m.down({ streamId: 2, logs: { taskId: "web1", follow: false } });
    await m.got((u) => u.streamId === 2 && u.end);
    const failed = m.ups.find((u) => u.streamId === 1 && u.error !== undefined);
    assert.equal(failed?.error?.code, "resource_exhausted");
    await until(() => w.tunnel.stdinBufferedBytes === 0, "stdin freed");
  } finally {
    m.stop();
  }
});

Deno.test("tunnel: with a leader that keeps to no window (older versions) stdin is unmetered, as before", async () => {
  const m = await handManager({ stdinCredits: false });
  try {
    await using _w = await workerWithTunnel(m.address);
    await m.opened;
    await m.down({ streamId: 1, exec: { ...SLEEP, command: ["cat"] } });
    const total = 2 * DEFAULT_STDIN_WINDOW_BYTES;
    for (let sent = 0; sent < total; sent += 64 * 1024) {
      await m.down({ streamId: 1, stdin: new Uint8Array(64 * 1024).fill(7) });
    }
    await m.down({ streamId: 1, closeStdin: true });
    const exit = await m.got((u) => u.streamId === 1 && u.exitCode !== undefined);
    assert.equal(exit.exitCode, 0);
    const echoed = m.ups.reduce(
      (n, u) => n + (u.streamId === 1 ? u.stdout?.byteLength ?? 0 : 0),
      0,
    );
    assert.equal(echoed, total);
    assert.ok(m.ups.every((u) => u.stdinCredit === undefined), "no credit for an older leader");
  } finally {
    m.stop();
  }
});

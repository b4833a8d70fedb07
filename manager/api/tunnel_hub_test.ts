import assert from "node:assert/strict";
import {
  Client,
  type ClientDuplexStream,
  credentials,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
} from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";
import type { TunnelDown, TunnelUp } from "../../proto/schema/mod.ts";
import { configureLogging } from "../../proto/log.ts";
import type { ApiContext } from "./context.ts";
import { TunnelHub } from "./tunnel_hub.ts";

configureLogging({ level: "error" });

/** Just what the hub asks of its context: a leader that knows node "n1". */
const ctx = {
  raft: { leader: { isLeader: true, leaderId: "m1" }, onLeaderChange: () => () => {} },
  store: { state: { nodes: new Map([["n1", {}]]) } },
} as unknown as ApiContext;

/** A hub served on loopback and a hand-driven worker that opens its tunnel. */
async function hubWithWorker(hello: Partial<TunnelUp>) {
  const hub = new TunnelHub(ctx, { pingIntervalMs: 60_000 });
  const server = new Server();
  server.addService(wire.TunnelServiceService, {
    open: (call: ServerDuplexStream<wire.TunnelUp, wire.TunnelDown>) => hub.accept(call, () => {}),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const m = wire.TunnelServiceService.open;
  const call: ClientDuplexStream<wire.TunnelUp, wire.TunnelDown> = client.makeBidiStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
  );
  call.on("error", () => {});
  const received: TunnelDown[] = [];
  let wake: (() => void) | undefined;
  call.on("data", (raw: wire.TunnelDown) => {
    received.push(codecs.TunnelDown.fromWire(raw));
    wake?.();
  });
  const up = (u: Partial<TunnelUp> & { streamId: number }) =>
    call.write(codecs.TunnelUp.toWire({ lines: [], end: false, pong: false, ...u }));
  up({ streamId: 0, nodeId: "n1", ...hello });
  /** Resolves once the worker received a message matching `pred`. */
  const got = async (pred: (d: TunnelDown) => boolean) => {
    while (!received.some(pred)) await new Promise<void>((r) => wake = r);
    return received.find(pred)!;
  };
  const stdinBytes = (streamId: number) =>
    received.reduce((n, d) => n + (d.streamId === streamId ? d.stdin?.byteLength ?? 0 : 0), 0);
  return {
    hub,
    received,
    got,
    up,
    stdinBytes,
    [Symbol.dispose]() {
      call.cancel();
      hub.close();
      client.close();
      server.forceShutdown();
    },
  };
}

const EXEC = { taskId: "t1", command: ["sleep", "600"], tty: false, stdin: true, env: [] };

Deno.test("tunnel hub: exec stdin goes down only within the worker's window; other streams flow", async () => {
  const window = 64 * 1024;
  using w = await hubWithWorker({ stdinWindow: window });
  const hello = await w.got((d) => d.streamId === 0 && d.ping);
  assert.equal(hello.stdinCredits, true, "the first ping accepts the credit scheme");
  const exec = w.hub.open("n1", { exec: EXEC });
  await w.got((d) => d.exec !== undefined);

  // The worker's process reads nothing: the caller's stdin waits in the hub, past the window.
  let written = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 4; i++) {
    writes.push(exec.writeStdin(new Uint8Array(48 * 1024)).then(() => void (written += 1)));
  }
  exec.send({ closeStdin: true });
  // A resize is not held behind stdin: once it arrives, everything sent before it has too.
  exec.send({ resize: { cols: 80, rows: 24 } });
  await w.got((d) => d.resize !== undefined);
  assert.equal(w.stdinBytes(1), window, "no more than the window went down");
  assert.equal(written, 1, "the first write went whole, the second only in part");

  // Another stream on the same tunnel is not held up.
  const logs = w.hub.open("n1", { logs: { taskId: "t2", follow: false } });
  w.up({ streamId: 2, lines: [{ stream: "stdout", line: "still here", timestamp: 1 }] });
  w.up({ streamId: 2, end: true });
  const lines = [];
  for await (const m of logs.messages) lines.push(...m.lines.map((l) => l.line));
  assert.deepEqual(lines, ["still here"]);

  // Credit sends more, exactly as much; close-stdin follows the stdin written before it.
  w.up({ streamId: 1, stdinCredit: 16 * 1024 });
  await w.got((d) => d.streamId === 1 && w.stdinBytes(1) === window + 16 * 1024);
  w.up({ streamId: 1, stdinCredit: 1024 * 1024 });
  await Promise.all(writes);
  await w.got((d) => d.closeStdin);
  assert.equal(w.stdinBytes(1), 4 * 48 * 1024);
  const order = w.received.filter((d) => d.streamId === 1 && (d.stdin || d.closeStdin));
  assert.ok(order.at(-1)!.closeStdin, "close-stdin came last");

  // Credit is the hub's business: the caller sees only the answers.
  w.up({ streamId: 1, exitCode: 0, end: true });
  const answers = [];
  for await (const m of exec.messages) answers.push(m);
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.exitCode, 0);
});

Deno.test("tunnel hub: a waiting stdin write ends with its stream (cancel or a dropped tunnel)", async () => {
  using w = await hubWithWorker({ stdinWindow: 1024 });
  await w.got((d) => d.ping);
  const a = w.hub.open("n1", { exec: EXEC });
  const b = w.hub.open("n1", { exec: EXEC });
  const waitA = a.writeStdin(new Uint8Array(4096));
  const waitB = b.writeStdin(new Uint8Array(4096));
  a.cancel();
  await waitA;
  w.hub.close();
  await waitB;
  await assert.rejects(async () => {
    for await (const _ of b.messages) { /* fails with the tunnel */ }
  });
});

Deno.test("tunnel hub: a worker that offers no window (older versions) gets stdin unmetered", async () => {
  using w = await hubWithWorker({});
  await w.got((d) => d.ping);
  const exec = w.hub.open("n1", { exec: EXEC });
  const total = 1024 * 1024;
  await exec.writeStdin(new Uint8Array(total));
  exec.send({ closeStdin: true });
  await w.got((d) => d.closeStdin);
  assert.equal(w.stdinBytes(1), total);
});

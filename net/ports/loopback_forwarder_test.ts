import assert from "node:assert/strict";
import { LoopbackForwarder } from "./loopback_forwarder.ts";

/** An echo server on 127.0.0.2:`port` (0: any) that upper-cases what it reads, until EOF. */
function echoServer(port = 0): { port: number; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.2", port });
  void (async () => {
    for await (const c of l) {
      void (async () => {
        let text = "";
        const buf = new Uint8Array(4096);
        for (let n; (n = await c.read(buf)) !== null;) {
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        // EOF seen: the relay half-closed our side after the client did; answer, then close.
        const out = new TextEncoder().encode(text.toUpperCase());
        for (let off = 0; off < out.length;) off += await c.write(out.subarray(off));
        c.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return { port: (l.addr as Deno.NetAddr).port, close: () => l.close() };
}

async function roundTrip(port: number, text: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.3", port });
  await c.write(new TextEncoder().encode(text));
  await c.closeWrite();
  let out = "";
  for await (const chunk of c.readable.pipeThrough(new TextDecoderStream())) out += chunk;
  return out;
}

Deno.test("loopback forwarder: relays both ways with half-close, and follows sync()", async () => {
  const echo = echoServer();
  const f = new LoopbackForwarder({ target: "127.0.0.2", listen: "127.0.0.3" });
  try {
    f.sync([echo.port]);
    assert.deepEqual(f.ports, [echo.port]);
    assert.equal(await roundTrip(echo.port, "hello ".repeat(20_000)), "HELLO ".repeat(20_000));
    f.sync([]);
    assert.deepEqual(f.ports, []);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.3", port: echo.port }));
  } finally {
    f.close();
    echo.close();
  }
});

Deno.test("loopback forwarder: a port held by another program is skipped, not fatal", async () => {
  const echo = echoServer();
  const holder = Deno.listen({ hostname: "127.0.0.3", port: echo.port });
  const f = new LoopbackForwarder({ target: "127.0.0.2", listen: "127.0.0.3" });
  try {
    f.sync([echo.port]);
    assert.deepEqual(f.ports, []);
    holder.close();
    f.sync([echo.port]); // still the same desired set: not retried until it leaves and returns
    assert.deepEqual(f.ports, []);
    f.sync([]);
    f.sync([echo.port]);
    assert.deepEqual(f.ports, [echo.port]);
    assert.equal(await roundTrip(echo.port, "x"), "X");
  } finally {
    f.close();
    echo.close();
  }
});

Deno.test("loopback forwarder: a target that refuses closes the client's connection", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close(); // nothing listens on 127.0.0.2:port now
  const f = new LoopbackForwarder({ target: "127.0.0.2", listen: "127.0.0.3" });
  try {
    f.sync([port]);
    assert.equal(await roundTrip(port, "anyone?"), "");
  } finally {
    f.close();
  }
});

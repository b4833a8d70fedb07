/**
 * A Warren server does not answer a client's GOAWAY with one of its own (quiet_goaway.ts):
 * on Deno 2.9.4 to 2.9.6, sending that answer could abort the server inside nghttp2. Every
 * grpc-js client says GOAWAY when its channel closes. The server runs in its own process; the
 * test is a plain HTTP/2 client that makes a gRPC call, closes its session (which sends a
 * GOAWAY) with a second call open, and checks that the call still finishes and that no GOAWAY
 * came back.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { spawnChild } from "./_child_output.ts";
import http2 from "node:http2";

const FIXTURE = fileURLToPath(new URL("./_server_fixture.ts", import.meta.url));

/**
 * Starts a unary call of `/test.Echo/Echo` on `session` without sending its message; `send`
 * sends it, and the promise resolves with the response's bytes.
 */
function echoCall(session: http2.ClientHttp2Session, byte: number) {
  const req = session.request({
    ":method": "POST",
    ":path": "/test.Echo/Echo",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const chunks: Buffer[] = [];
  const response = new Promise<Buffer>((done, fail) => {
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => done(Buffer.concat(chunks)));
    req.on("error", fail);
  });
  // gRPC framing: not compressed, 4-byte big-endian length, the message.
  const send = () => req.end(Buffer.from([0, 0, 0, 0, 1, byte]));
  return { response, send };
}

Deno.test("grpc: a server answers a client's GOAWAY with none of its own, and lives", async () => {
  const fixture = spawnChild(["run", "-A", FIXTURE]);
  const { child, until } = fixture;
  try {
    const port = Number((await until(/port (\d+)/))?.[1]);
    assert.ok(port > 0, fixture.out);
    for (let run = 0; run < 3; run++) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const goaways: number[] = [];
      session.on("goaway", (code: number) => goaways.push(code));
      session.on("error", () => {});
      const first = echoCall(session, run);
      first.send();
      assert.deepEqual([...await first.response], [0, 0, 0, 0, 1, run]);
      // A call still open when the client says GOAWAY: as the GOAWAY promises, it may finish.
      const open = echoCall(session, run + 10);
      await new Promise((turn) => setTimeout(turn, 50)); // its headers reach the server
      const closed = new Promise((c) => session.once("close", c));
      session.close(); // says GOAWAY
      await new Promise((turn) => setTimeout(turn, 50)); // the server's turn to answer it
      open.send();
      assert.deepEqual([...await open.response], [0, 0, 0, 0, 1, run + 10]);
      await closed;
      assert.deepEqual(goaways, [], `run ${run}: the server answered with a GOAWAY`);
    }
  } finally {
    await child.stdin.close();
  }
  await until(/lived/);
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(status.code, 0, `server exited ${status.code}\n${fixture.out}${stderr}`);
});

/**
 * Test fixture for server_gone_test.ts, run as its own process (a crash must not take the test
 * runner down): a grpc-js client makes a few calls to `Deno.args[0]`, lets V8 collect what those
 * calls left behind, says `ready`, and exits 0 when its stdin closes. On Deno 2.9.4 to 2.9.6 it
 * dies first, inside nghttp2 (exit 134 or 139), when the server goes away.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { ECHO } from "./_echo_service.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

const Client = grpc.makeGenericClientConstructor(ECHO, "Echo");
const client = new Client(Deno.args[0], grpc.credentials.createInsecure());
for (let i = 0; i < 3; i++) {
  await new Promise<void>((done, fail) =>
    // deno-lint-ignore no-explicit-any
    (client as any).echo(Buffer.from([i]), (err: Error | null) => err ? fail(err) : done())
  );
}
// Collect the finished streams' objects. cppgc finalizes on other threads: give it time.
for (let i = 0; i < 5; i++) {
  gc();
  await new Promise((turn) => setTimeout(turn, 50));
}
console.log("ready");
// The test closes stdin once the server has stopped. Reading keeps this process alive until
// then (grpc-js unrefs its sockets) and leaves this side's nghttp2 to handle the GOAWAY and
// the closed connection, which is where the crash was.
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
console.log("lived");
Deno.exit(0);

/**
 * Test fixture for client_goaway_test.ts, run as its own process (a crash inside nghttp2 must
 * not take the test runner down): a Warren gRPC server hosting the echo service on 127.0.0.1.
 * It prints `port N`, and `lived` when its stdin closes, then exits 0.
 */
import { startGrpcServer } from "./server.ts";
import { ECHO, echoImplementation } from "./_echo_service.ts";

const server = await startGrpcServer({
  address: "127.0.0.1:0",
  services: [{ definition: ECHO, implementation: echoImplementation }],
});
console.log(`port ${server.port}`);
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
console.log("lived");
await server.stop(0);
Deno.exit(0);

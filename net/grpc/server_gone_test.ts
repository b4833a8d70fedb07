/**
 * A gRPC client survives a Warren server going away. Deno 2.9.4 to 2.9.6 abort inside nghttp2
 * (`find_stream_on_goaway_func: Assertion 'stream->closed_next == NULL'`, or SIGSEGV) when a
 * client session whose finished streams were garbage-collected receives a GOAWAY
 * (denoland/deno#36788). CI saw it as a manager dying during `cluster leave`: the leaving
 * manager's grpc-js server said GOAWAY to it. Warren's server stops without one (server.ts);
 * this test runs that stop against a client that has the crash's preconditions, eight times.
 * With grpc-js's own `tryShutdown` instead, the client died in about half the runs on 2.9.6.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startGrpcServer } from "./server.ts";
import { ECHO, echoImplementation } from "./_echo_service.ts";
import { spawnChild } from "./_child_output.ts";

const FIXTURE = fileURLToPath(new URL("./_gc_client_fixture.ts", import.meta.url));

Deno.test("grpc: a client whose finished calls were collected outlives a stopping Warren server, eight times", async () => {
  for (let run = 0; run < 8; run++) {
    const server = await startGrpcServer({
      address: "127.0.0.1:0",
      services: [{ definition: ECHO, implementation: echoImplementation }],
    });
    const port = server.port;
    const { child, until, rest } = spawnChild([
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      FIXTURE,
      `127.0.0.1:${port}`,
    ]);
    await until(/ready\n/);
    await server.stop(1000);
    await child.stdin.close();
    const out = await rest();
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, `run ${run}: client exited ${status.code}\n${out}${stderr}`);
    assert.match(out, /lived/);
  }
});

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

const FIXTURE = fileURLToPath(new URL("./_gc_client_fixture.ts", import.meta.url));

Deno.test("grpc: a client whose finished calls were collected outlives a stopping Warren server, eight times", async () => {
  for (let run = 0; run < 8; run++) {
    const server = await startGrpcServer({
      address: "127.0.0.1:0",
      services: [{ definition: ECHO, implementation: echoImplementation }],
    });
    const port = server.port;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", FIXTURE, `127.0.0.1:${port}`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    await server.stop(1000);
    await child.stdin.close();
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, `run ${run}: client exited ${status.code}\n${out}${stderr}`);
    assert.match(out, /lived/);
  }
});

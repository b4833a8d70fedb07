/**
 * The server half of the transport floor (./_transport_floor.ts), run as its own process like a
 * manager: the same runtime, V8 flags and mutual TLS, and no gRPC library or Warren code behind
 * it. Two listeners on 127.0.0.1:
 * - `node:tls`: each request is `u32 reply bytes, u32 payload bytes, payload`, answered with that
 *   many bytes;
 * - `node:http2`: a stream's `x-reply-bytes` header sets the size of the one DATA payload it is
 *   answered with, between response headers and `grpc-status: 0` trailers, as a unary gRPC call.
 *
 * Reads `{caPem, certPem, keyPem}` as JSON on stdin; prints `{"tls":PORT,"http2":PORT}` when both
 * listen, then serves until killed.
 * @module
 */
import http2 from "node:http2";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import type { AddressInfo } from "node:net";

interface Material {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Replies (one per request) are slices of one zeroed buffer, grown to the largest asked. */
let replyPool = Buffer.alloc(0);
function reply(bytes: number): Buffer {
  if (replyPool.length < bytes) replyPool = Buffer.alloc(bytes);
  return replyPool.subarray(0, bytes);
}

function tlsServer(m: Material): tls.Server {
  return tls.createServer(
    { ca: m.caPem, cert: m.certPem, key: m.keyPem, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.setNoDelay(true);
      let pending: Buffer<ArrayBufferLike> = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(4)) {
          const want = pending.readUInt32BE(0);
          pending = pending.subarray(8 + pending.readUInt32BE(4));
          socket.write(reply(want));
        }
      });
      socket.on("error", () => socket.destroy());
    },
  );
}

function http2Server(m: Material): http2.Http2SecureServer {
  const server = http2.createSecureServer({
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    const bytes = Number(headers["x-reply-bytes"] ?? 0);
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
        waitForTrailers: true,
      });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(reply(bytes));
    });
    stream.on("error", () => {});
  });
  return server;
}

function listen(server: tls.Server | http2.Http2SecureServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

if (import.meta.main) {
  const material = JSON.parse(await new Response(Deno.stdin.readable).text()) as Material;
  const ports = {
    tls: await listen(tlsServer(material)),
    http2: await listen(http2Server(material)),
  };
  console.log(JSON.stringify(ports));
}

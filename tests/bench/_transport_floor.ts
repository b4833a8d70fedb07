/**
 * The transport floor under the API's numbers: what one exchange costs on the stack every Warren
 * call rides (Deno's `node:tls` and `node:http2`, mutual TLS, loopback) with no gRPC library and
 * no Warren code on either side. A create one at a time or a list can never beat the HTTP/2
 * exchange of the same size measured here: the api suite prints both, so a missed target can
 * be told apart from a slow manager.
 *
 * The server is its own process (./_transport_floor_server.ts), started with the daemons' V8
 * flags; this process is the client, as the api suite's client is.
 * @module
 */
import http2 from "node:http2";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import { V8_FLAGS } from "../integration/_cluster_procs.ts";

/** PEM material of one side of the mutual TLS. */
export interface FloorTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A running floor server. */
export interface FloorServer extends AsyncDisposable {
  tlsPort: number;
  http2Port: number;
}

const SERVER = new URL("./_transport_floor_server.ts", import.meta.url).pathname;

/** Starts the floor server with `material` (its certificate, key and the CA of its clients). */
export async function startFloorServer(material: FloorTls): Promise<FloorServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", V8_FLAGS, SERVER],
    stdin: "piped",
    stdout: "piped",
    // Kept for a failed start only: the bare server may abort when killed clients leave (below).
    stderr: "piped",
  }).spawn();
  const errText = new Response(child.stderr).text();
  const stdin = child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode(JSON.stringify(material)));
  await stdin.close();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(`the transport floor server exited before listening: ${await errText}`);
    }
    text += value;
  }
  lines.releaseLock();
  const ports = JSON.parse(text.slice(0, text.indexOf("\n"))) as { tls: number; http2: number };
  return {
    tlsPort: ports.tls,
    http2Port: ports.http2,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await errText;
    },
  };
}

/** The options of a client connection: mutual TLS, the server's name as the manager's. */
function clientTls(material: FloorTls, serverName: string) {
  return {
    ca: material.caPem,
    cert: material.certPem,
    key: material.keyPem,
    servername: serverName,
  };
}

/**
 * `n` exchanges one at a time over one `node:tls` connection: `requestBytes` out, `replyBytes`
 * back. Returns each exchange's milliseconds, after `warmup` unmeasured ones.
 */
export async function tlsExchanges(
  port: number,
  material: FloorTls,
  serverName: string,
  opts: { n: number; warmup: number; requestBytes: number; replyBytes: number },
): Promise<number[]> {
  const socket = tls.connect({ host: "127.0.0.1", port, ...clientTls(material, serverName) });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    const request = Buffer.alloc(8 + opts.requestBytes);
    request.writeUInt32BE(opts.replyBytes, 0);
    request.writeUInt32BE(opts.requestBytes, 4);
    let got = 0;
    let done: (() => void) | undefined;
    // A refused client certificate shows after the handshake (TLS 1.3): as an error or a close.
    let failed: Error | undefined;
    let fail: ((e: Error) => void) | undefined;
    const stop = (e: Error) => {
      failed ??= e;
      fail?.(failed);
    };
    socket.on("error", stop);
    socket.on("close", () => stop(new Error("tls floor: the server closed the connection")));
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got < opts.replyBytes) return;
      got = 0;
      done?.();
    });
    const once = () =>
      new Promise<void>((resolve, reject) => {
        if (failed) return reject(failed);
        done = resolve;
        fail = reject;
        socket.write(request);
      });
    return await timed(once, opts.n, opts.warmup);
  } finally {
    socket.destroy();
  }
}

/** One `node:http2` client session to the floor server. */
export interface FloorHttp2Session {
  /**
   * `n` unary exchanges one at a time, shaped as gRPC's: a POST with a `requestBytes` body,
   * answered with headers, one `replyBytes` DATA payload and trailers. Returns each exchange's
   * milliseconds, after `warmup` unmeasured ones.
   */
  exchanges(
    opts: { n: number; warmup: number; requestBytes: number; replyBytes: number },
  ): Promise<number[]>;
  /**
   * Ends the session. Deno's node:http2 server can abort when a client leaves with a GOAWAY
   * (denoland/deno#36788; the manager guards against it in net/grpc/quiet_goaway.ts, this bare
   * server does not), so the floor server is killed right after its last session ends.
   */
  close(): void;
}

/** Opens an HTTP/2 session (mutual TLS) to the floor server at `port`. */
export async function openFloorHttp2(
  port: number,
  material: FloorTls,
  serverName: string,
): Promise<FloorHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, clientTls(material, serverName));
  session.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
      session.once("close", () => reject(new Error("http2 floor: the session closed")));
    });
  } catch (e) {
    session.destroy();
    throw e;
  }
  return {
    exchanges(opts) {
      const body = Buffer.alloc(opts.requestBytes);
      const headers = {
        ":method": "POST",
        ":path": "/warren.floor.Floor/Call",
        "content-type": "application/grpc",
        te: "trailers",
        "x-reply-bytes": String(opts.replyBytes),
      };
      const once = () =>
        new Promise<void>((resolve, reject) => {
          if (session.destroyed || session.closed) {
            return reject(new Error("http2 floor: the session is closed"));
          }
          const stream = session.request(headers);
          let got = 0;
          stream.on("data", (chunk: Buffer) => got += chunk.length);
          stream.on("error", reject);
          stream.on("close", () => {
            if (got === opts.replyBytes) resolve();
            else reject(new Error(`http2 floor: ${got} bytes back, not ${opts.replyBytes}`));
          });
          stream.end(body);
        });
      return timed(once, opts.n, opts.warmup);
    },
    close: () => session.destroy(),
  };
}

async function timed(once: () => Promise<void>, n: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  return ms;
}

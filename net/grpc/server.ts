/**
 * A gRPC server that hosts the handlers the manager and worker hand to it. Credentials are
 * pluggable: insecure for loopback tests, mutual TLS in clusters (the security layer's job).
 *
 * Stopping sends no HTTP/2 GOAWAY and tears no HTTP/2 session down itself: Deno bugs sit on
 * those paths. On Deno 2.9.4 to 2.9.6 a client that receives a GOAWAY after V8 collected its
 * finished calls aborts inside nghttp2 (denoland/deno#36788; server_gone_test.ts): grpc-js's own
 * shutdown says GOAWAY to every client, so a manager that stopped or left could take down the
 * workers, CLIs and managers connected to it (a stress loop: 6 of 6 processes died; with the
 * stop below, 0 of 6). On 2.9.3, which has no such crash, `session.destroy` (grpc-js's
 * forceShutdown) now and then closes a file descriptor twice (`unexpected error during
 * closedir` panics). So the server answers new calls UNAVAILABLE, lets calls in flight finish
 * within the grace time, then ends each connection with a TCP FIN below TLS and HTTP/2. Clients
 * see the connection drop, which they already treat as a manager going away, and reconnect
 * elsewhere.
 * @module
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type {
  ServerErrorResponse,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";
import { UnavailableError } from "../../proto/errors.ts";
import { toGrpcError } from "./status.ts";
import { closeQuietlyOnGoaway } from "./quiet_goaway.ts";

/**
 * Largest message a server accepts by default, in bytes (snapshot chunks, large specs). The REST
 * API caps request bodies at the same size (manager/api/rest.ts).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 << 20;

/** One service to host: its generated definition and its implementation. */
export interface HostedService {
  // deno-lint-ignore no-explicit-any
  definition: ServiceDefinition<any>;
  implementation: UntypedServiceImplementation;
}

/** A running gRPC server. */
export interface GrpcServer extends AsyncDisposable {
  /** The bound port (useful when binding port 0). */
  readonly port: number;
  /**
   * Answers new calls UNAVAILABLE; calls in flight that end with one answer (unary,
   * client-streaming) get `graceMs` to finish; then every connection is closed without a
   * GOAWAY (see the module doc), which also ends long-lived streams, and the port is released.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port` (port 0 picks a free one) or `unix:///path`. */
  address: string;
  services: HostedService[];
  credentials?: ServerCredentials;
  /** Largest message accepted, in bytes. Default {@link DEFAULT_MAX_MESSAGE_BYTES} (16 MiB). */
  maxMessageBytes?: number;
}

/** One of grpc-js's listening HTTP/2 servers, as far as this module uses it. */
interface Listener {
  on(event: "connection", f: (s: Socket) => void): void;
  on(event: "session", f: (s: Http2Session) => void): void;
}

/** Binds and starts a server hosting `services`. */
export function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    "grpc.keepalive_permit_without_calls": 1,
  });
  const calls = new CallGate();
  for (const s of opts.services) {
    server.addService(s.definition, calls.wrap(s.definition, s.implementation));
  }
  return new Promise((resolve, reject) => {
    server.bindAsync(
      opts.address,
      opts.credentials ?? ServerCredentials.createInsecure(),
      (err, port) => {
        if (err) {
          reject(new Error(`cannot listen on ${opts.address}: ${err.message}`, { cause: err }));
          return;
        }
        // The raw transport sockets (below TLS), so stop() can close them without a GOAWAY.
        const sockets = new Set<Socket>();
        let closing = false;
        for (const l of listenersOf(server)) {
          l.on("connection", (s) => {
            if (closing) return void s.destroy();
            sockets.add(s);
            s.once("close", () => sockets.delete(s));
          });
          // Nor does it answer a client's GOAWAY with one (quiet_goaway.ts): it ends the
          // session's connection the same way. The raw socket is the one with the session's
          // peer (the session's own socket is TLS's, above it).
          l.on("session", (session) => {
            // The peer is read now: once the connection is gone, Deno's session.socket throws
            // ("The socket has been disconnected from the Http2Session") on any access, and the
            // last stream's close can come after that. A unix socket has no port to match: its
            // session is left for the client to end.
            const peer = peerOf(session);
            const raw = () =>
              peer === undefined
                ? undefined
                : [...sockets].find((s) =>
                  s.remotePort === peer.port && s.remoteAddress === peer.address
                );
            closeQuietlyOnGoaway(session, () => {
              const s = raw();
              if (s) void closeSocket(s);
            });
          });
        }
        let stopped: Promise<void> | undefined;
        const stop = (graceMs = 1000) =>
          stopped ??= (async () => {
            // Not the listener's close() first: on Deno it sends every session a GOAWAY.
            await calls.drain(graceMs);
            closing = true;
            // A stream counts as closed once nghttp2 has framed its answer; node:http2 on Deno
            // hands those bytes to the socket a turn of the event loop later. Two turns, so the
            // FIN below follows the last answers instead of cutting them off.
            for (let turn = 0; turn < 2; turn++) await new Promise((d) => setTimeout(d, 0));
            await Promise.all([...sockets].map(closeSocket));
            // What is left is grpc-js's bookkeeping and the listener; its sessions went with
            // their sockets, so this closes the listener and sends nothing.
            await new Promise((d) => setTimeout(d, 0));
            server.forceShutdown();
          })();
        resolve({ port, stop, [Symbol.asyncDispose]: () => stop(0) });
      },
    );
  });
}

/**
 * Closes `s` with a TCP FIN after what is already written (the last answers) and waits until
 * it is closed; a peer that does not close its side within a second gets a reset. No TLS
 * close_notify or HTTP/2 frame is sent: `s` is the raw socket below both.
 */
function closeSocket(s: Socket): Promise<void> {
  return new Promise((done) => {
    if (s.destroyed) return done();
    const force = setTimeout(() => s.destroy(), 1000);
    s.once("close", () => {
      clearTimeout(force);
      done();
    });
    s.end();
  });
}

/** grpc-js's listening servers: a private field, read because no API hands them out. */
function listenersOf(server: Server): Listener[] {
  const map = (server as unknown as { http2Servers?: unknown }).http2Servers;
  // grpc-js is pinned in deno.json; a version that renames this field fails here, loudly.
  if (!(map instanceof Map)) {
    throw new Error("grpc-js Server has no http2Servers map (see net/grpc/server.ts)");
  }
  return [...(map as Map<Listener, unknown>).keys()];
}

/**
 * Counts the calls in flight that end with one answer and turns new calls away once draining.
 * Streaming responses are not waited for: watches, sessions and tunnels never end on their own.
 */
class CallGate {
  #inFlight = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  /** The implementation with every handler passing through the gate. */
  wrap(
    // deno-lint-ignore no-explicit-any
    definition: ServiceDefinition<any>,
    implementation: UntypedServiceImplementation,
  ): UntypedServiceImplementation {
    const out: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(implementation)) {
      const method = definition[name];
      out[name] = method && !method.responseStream
        ? this.#unary(handler)
        : this.#streaming(handler);
    }
    return out;
  }

  /** Waits until no answered call is in flight, or `graceMs` passed. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    if (this.#inFlight === 0 || graceMs <= 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((done) => {
      this.#idle = done;
      timer = setTimeout(done, graceMs);
    });
    clearTimeout(timer);
  }

  #refusal(): ServerErrorResponse {
    return toGrpcError(
      new UnavailableError("this manager is shutting down"),
    ) as ServerErrorResponse;
  }

  #unary(handler: UntypedHandleCall): UntypedHandleCall {
    // deno-lint-ignore no-explicit-any
    return ((call: any, callback: (err: unknown, value?: unknown) => void) => {
      if (this.#draining) return callback(this.#refusal());
      this.#inFlight++;
      // grpc-js emits 'cancelled' when the HTTP/2 stream closes, answered or not: only then is
      // the answer on the wire, so only then may stop() close the connection.
      call.once("cancelled", () => {
        if (--this.#inFlight === 0) this.#idle?.();
      });
      // deno-lint-ignore no-explicit-any
      return (handler as any)(call, callback);
    }) as UntypedHandleCall;
  }

  #streaming(handler: UntypedHandleCall): UntypedHandleCall {
    // deno-lint-ignore no-explicit-any
    return ((call: any) => {
      if (this.#draining) return call.emit("error", this.#refusal());
      // deno-lint-ignore no-explicit-any
      return (handler as any)(call);
    }) as UntypedHandleCall;
  }
}

/** The remote port and address of a session's connection; undefined without a port (unix). */
function peerOf(session: Http2Session): { port: number; address?: string } | undefined {
  try {
    const { remotePort: port, remoteAddress: address } = session.socket;
    return port === undefined ? undefined : { port, address };
  } catch {
    return undefined; // already disconnected: nothing left to end
  }
}

/**
 * A gRPC server that hosts the handlers the manager and worker hand to it. Credentials are
 * pluggable: insecure for loopback tests, mutual TLS in clusters (the security layer's job).
 * @module
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";

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
  /** Stops accepting calls; ends in-flight calls after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port` (port 0 picks a free one) or `unix:///path`. */
  address: string;
  services: HostedService[];
  credentials?: ServerCredentials;
  /** Largest message accepted, in bytes. Default 16 MiB (snapshot chunks, large specs). */
  maxMessageBytes?: number;
}

/** Binds and starts a server hosting `services`. */
export function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const maxBytes = opts.maxMessageBytes ?? 16 << 20;
  const server = new Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    "grpc.keepalive_permit_without_calls": 1,
  });
  for (const s of opts.services) server.addService(s.definition, s.implementation);
  return new Promise((resolve, reject) => {
    server.bindAsync(
      opts.address,
      opts.credentials ?? ServerCredentials.createInsecure(),
      (err, port) => {
        if (err) {
          reject(new Error(`cannot listen on ${opts.address}: ${err.message}`, { cause: err }));
          return;
        }
        let stopped: Promise<void> | undefined;
        const stop = (graceMs = 1000) =>
          stopped ??= new Promise<void>((done) => {
            const force = setTimeout(() => server.forceShutdown(), graceMs);
            server.tryShutdown(() => {
              clearTimeout(force);
              done();
            });
          });
        resolve({ port, stop, [Symbol.asyncDispose]: () => stop(0) });
      },
    );
  });
}

/** A one-method gRPC service on raw bytes, for tests that need a server but no Warren API. */
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";

const raw = (b: Uint8Array) => b as Buffer;

/** `/test.Echo/Echo`: answers with the request's bytes. */
export const ECHO: ServiceDefinition = {
  echo: {
    path: "/test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};

/** The implementation of {@link ECHO}. */
export const echoImplementation: UntypedServiceImplementation = {
  echo: (call: { request: Buffer }, cb: (err: null, res: Buffer) => void) => cb(null, call.request),
};

/** gRPC services on raw bytes, for tests that need a server but no Warren API. */
import type {
  MethodDefinition,
  ServiceDefinition,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";

const raw = (b: Buffer) => b;

/** A method at `path` whose messages are the bytes themselves. */
export function rawMethod(
  path: string,
  responseStream = false,
): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

/** `/test.Echo/Echo`: answers with the request's bytes. */
export const ECHO: ServiceDefinition = { echo: rawMethod("/test.Echo/Echo") };

/** The implementation of {@link ECHO}. */
export const echoImplementation: UntypedServiceImplementation = {
  echo: (call: { request: Buffer }, cb: (err: null, res: Buffer) => void) => cb(null, call.request),
};

/**
 * Wraps every method of a hosted service with a check of the caller (e.g. "managers only" on
 * the Raft port): a refused call gets its status before the handler runs.
 * @module
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { HostedService } from "./server.ts";
import { toGrpcError } from "./status.ts";
import type { CallWithAuth } from "./tls.ts";

/** `service` with `check` run first on every call (unary and client-streaming methods). */
export function guarded(
  service: HostedService,
  check: (call: CallWithAuth) => void,
): HostedService {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(service.implementation)) {
    // deno-lint-ignore no-explicit-any
    implementation[name] = ((call: any, callback?: (e: unknown) => void) => {
      try {
        check(call);
      } catch (err) {
        const status = toGrpcError(err);
        if (callback) callback(status);
        else call.emit("error", status);
        return;
      }
      // deno-lint-ignore no-explicit-any
      return (handler as any)(call, callback);
    }) as typeof handler;
  }
  return { definition: service.definition, implementation };
}

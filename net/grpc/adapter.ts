/**
 * Turns promise-returning handlers into grpc-js handlers: errors become gRPC statuses in one
 * place (status.ts), server streams end cleanly when the client goes away, and every call's
 * latency and outcome is reported to an optional observer (metrics).
 * @module
 */
import { Buffer } from "node:buffer";
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
} from "@grpc/grpc-js";
import { toGrpcError } from "./status.ts";

/** Receives one finished call: method name, duration and whether it failed (and how). */
export type CallObserver = (method: string, durationMs: number, code: string) => void;

/** Wraps an async unary handler. */
export function unary<Req, Res>(
  method: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  observe?: CallObserver,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const t0 = performance.now();
    // Through a promise, so a handler that throws synchronously still answers with a status.
    Promise.resolve().then(() => fn(call.request, call)).then(
      (res) => {
        observe?.(method, performance.now() - t0, "ok");
        callback(null, res);
      },
      (err) => {
        const e = toGrpcError(err);
        observe?.(method, performance.now() - t0, String(e.metadata?.get("warren-error-code")[0]));
        callback(e);
      },
    );
  };
}

/** Wraps an async generator as a server-streaming handler; aborts it when the client leaves. */
export function serverStream<Req, Res>(
  method: string,
  fn: (req: Req, signal: AbortSignal, call: ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
  observe?: CallObserver,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const t0 = performance.now();
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort());
    call.on("close", () => ac.abort());
    (async () => {
      try {
        for await (const item of fn(call.request, ac.signal, call)) {
          if (ac.signal.aborted) break;
          // Respect flow control: wait for the buffer to drain before producing more.
          if (!call.write(item)) await drained(call, ac.signal);
        }
        observe?.(method, performance.now() - t0, "ok");
        if (!ac.signal.aborted) call.end();
      } catch (err) {
        const e = toGrpcError(err);
        observe?.(method, performance.now() - t0, String(e.metadata?.get("warren-error-code")[0]));
        if (!ac.signal.aborted) call.emit("error", e);
      }
    })();
  };
}

/**
 * Resolves once `stream` drains or `signal` aborts: a cancelled call is destroyed without a
 * `drain`, and waiting for one would keep the handler (and what it holds) forever.
 */
export function drained(
  stream: { once(e: "drain", fn: () => void): unknown; off(e: "drain", fn: () => void): unknown },
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    stream.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A copy of `definition` whose `methods` may also answer with an already encoded message: a
 * `Uint8Array` response is sent as is (no copy), anything else goes through the generated
 * serializer. Lets a handler answer from a cache of encoded bytes.
 */
export function acceptEncodedResponses<D extends ServiceDefinition>(
  definition: D,
  ...methods: (keyof D & string)[]
): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = { ...definition };
  for (const m of methods) {
    const def = definition[m] as MethodDefinition<unknown, unknown>;
    const serialize = def.responseSerialize;
    out[m] = {
      ...def,
      responseSerialize: (value: unknown) =>
        value instanceof Uint8Array
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : serialize(value),
    };
  }
  return out as D;
}

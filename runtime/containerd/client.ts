/**
 * The gRPC connection to one containerd: a single grpc-js channel to its unix socket, the
 * `containerd-namespace` header on every call, and typed, promise-returning service facades built
 * from the generated service definitions (runtime/containerd/gen/).
 *
 * This module and its siblings are the only Warren code that talks to containerd.
 */
import * as grpc from "@grpc/grpc-js";
import { WarrenError } from "../../proto/errors.ts";
import type { ErrorCode } from "../../proto/errors.ts";
import { ContainersService } from "./gen/github.com/containerd/containerd/api/services/containers/v1/containers.ts";
import { ContentService } from "./gen/github.com/containerd/containerd/api/services/content/v1/content.ts";
import { DiffService } from "./gen/github.com/containerd/containerd/api/services/diff/v1/diff.ts";
import { EventsService } from "./gen/github.com/containerd/containerd/api/services/events/v1/events.ts";
import { ImagesService } from "./gen/github.com/containerd/containerd/api/services/images/v1/images.ts";
import { IntrospectionService } from "./gen/github.com/containerd/containerd/api/services/introspection/v1/introspection.ts";
import { LeasesService } from "./gen/github.com/containerd/containerd/api/services/leases/v1/leases.ts";
import { NamespacesService } from "./gen/github.com/containerd/containerd/api/services/namespaces/v1/namespace.ts";
import { SnapshotsService } from "./gen/github.com/containerd/containerd/api/services/snapshots/v1/snapshots.ts";
import { TasksService } from "./gen/github.com/containerd/containerd/api/services/tasks/v1/tasks.ts";
import { VersionService } from "./gen/github.com/containerd/containerd/api/services/version/v1/version.ts";

/** The containerd namespace Warren keeps its images, containers and tasks in. */
export const DEFAULT_NAMESPACE = "warren";

/** Per-call options of every facade method. */
export interface CallOptions {
  /** Lease ID sent as `containerd-lease`: resources created by the call are held by the lease. */
  lease?: string;
  /** Deadline for the call; none by default (Tasks/Wait may legitimately block for days). */
  timeoutMs?: number;
  /** Cancels the call; the promise then rejects with a {@link ContainerdError} (gRPC CANCELLED). */
  signal?: AbortSignal;
}

/** Options of {@link ContainerdClient}. */
export interface ContainerdClientOptions {
  /** Path of containerd's gRPC unix socket, e.g. `/run/containerd/containerd.sock`. */
  socket: string;
  /** containerd namespace for every call; default {@link DEFAULT_NAMESPACE}. */
  namespace?: string;
}

/** A failed containerd call, carrying the gRPC status and the method that failed. */
export class ContainerdError extends WarrenError {
  /** gRPC status code containerd answered with. */
  readonly grpcCode: grpc.status;
  /** Full method path, e.g. `/containerd.services.tasks.v1.Tasks/Create`. */
  readonly method: string;
  constructor(method: string, grpcCode: grpc.status, details: string, cause?: unknown) {
    const code = errorCodeOf(grpcCode);
    super(code, `containerd ${shortMethod(method)}: ${details}`, {
      cause,
      retryable: code === "unavailable" || code === "deadline_exceeded",
    });
    this.grpcCode = grpcCode;
    this.method = method;
  }
}

/** True when `err` is a containerd error with the given Warren error code. */
export function isContainerdCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof ContainerdError && err.code === code;
}

function shortMethod(path: string): string {
  // "/containerd.services.tasks.v1.Tasks/Create" -> "Tasks/Create"
  const m = /\.([A-Za-z]+\/[A-Za-z]+)$/.exec(path);
  return m ? m[1] : path;
}

function errorCodeOf(s: grpc.status): ErrorCode {
  switch (s) {
    case grpc.status.NOT_FOUND:
      return "not_found";
    case grpc.status.ALREADY_EXISTS:
      return "already_exists";
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return "invalid_argument";
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.ABORTED:
      return "failed_precondition";
    case grpc.status.UNAVAILABLE:
      return "unavailable";
    case grpc.status.DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc.status.PERMISSION_DENIED:
      return "permission_denied";
    case grpc.status.UNAUTHENTICATED:
      return "unauthenticated";
    case grpc.status.RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    default:
      return "internal";
  }
}

/** Converts a grpc-js error (or anything thrown by a call) into a {@link ContainerdError}. */
export function toContainerdError(method: string, err: unknown): ContainerdError {
  if (err instanceof ContainerdError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code === "number") {
    return new ContainerdError(method, e.code, e.details || e.message || "call failed", err);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ContainerdError(method, grpc.status.UNKNOWN, msg, err);
}

/** Shape of one method in a generated ts-proto `*Service` definition. */
interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  // deno-lint-ignore no-explicit-any
  requestSerialize: (value: any) => Buffer;
  // deno-lint-ignore no-explicit-any
  responseDeserialize: (value: Buffer) => any;
}

type ReqOf<M> = M extends { requestSerialize: (value: infer R) => Buffer } ? R : never;
type ResOf<M> = M extends { responseDeserialize: (value: Buffer) => infer R } ? R : never;

/**
 * A server stream: iterate it with `for await`; errors arrive as {@link ContainerdError}s.
 * Leaving the loop early cancels the call.
 */
export interface ResponseStream<T> extends AsyncIterable<T> {
  /** Cancels the call. */
  cancel(): void;
}

/** A method of a service facade: unary → Promise, server stream → readable, bidi → duplex. */
export type FacadeMethod<M> = M extends { requestStream: false; responseStream: false }
  ? (request: ReqOf<M>, options?: CallOptions) => Promise<ResOf<M>>
  : M extends { requestStream: false; responseStream: true }
    ? (request: ReqOf<M>, options?: CallOptions) => ResponseStream<ResOf<M>>
  : M extends { requestStream: true; responseStream: true }
    ? (options?: CallOptions) => grpc.ClientDuplexStream<ReqOf<M>, ResOf<M>>
  : never;

/** Typed facade over one containerd service: one method per RPC of its definition. */
export type ServiceFacade<D> = { readonly [K in keyof D]: FacadeMethod<D[K]> };

/**
 * A connection to one containerd. Services are exposed as typed facades, e.g.
 * `await ctr.containers.get({ id })`; errors are {@link ContainerdError}s.
 */
export class ContainerdClient implements Disposable {
  /** The namespace every call is made in. */
  readonly namespace: string;
  /** The unix socket path this client dials. */
  readonly socket: string;
  readonly #grpc: grpc.Client;

  /** Containers service (container metadata). */
  readonly containers: ServiceFacade<typeof ContainersService>;
  /** Content service (blob store). */
  readonly content: ServiceFacade<typeof ContentService>;
  /** Diff service (layer apply). */
  readonly diff: ServiceFacade<typeof DiffService>;
  /** Events service. */
  readonly events: ServiceFacade<typeof EventsService>;
  /** Images service (name → target descriptor). */
  readonly images: ServiceFacade<typeof ImagesService>;
  /** Introspection service (plugins, server UUID). */
  readonly introspection: ServiceFacade<typeof IntrospectionService>;
  /** Leases service (GC protection). */
  readonly leases: ServiceFacade<typeof LeasesService>;
  /** Namespaces service. */
  readonly namespaces: ServiceFacade<typeof NamespacesService>;
  /** Snapshots service (one snapshotter per call, named in the request). */
  readonly snapshots: ServiceFacade<typeof SnapshotsService>;
  /** Tasks service (running processes). */
  readonly tasks: ServiceFacade<typeof TasksService>;
  /** Version service. */
  readonly version: ServiceFacade<typeof VersionService>;

  constructor(options: ContainerdClientOptions) {
    this.socket = options.socket;
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.#grpc = new grpc.Client(`unix://${options.socket}`, grpc.credentials.createInsecure(), {
      // containerd's own limit; manifests and metrics are far below it, content is chunked.
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      "grpc.max_send_message_length": 16 * 1024 * 1024,
    });
    this.containers = this.#facade(ContainersService);
    this.content = this.#facade(ContentService);
    this.diff = this.#facade(DiffService);
    this.events = this.#facade(EventsService);
    this.images = this.#facade(ImagesService);
    this.introspection = this.#facade(IntrospectionService);
    this.leases = this.#facade(LeasesService);
    this.namespaces = this.#facade(NamespacesService);
    this.snapshots = this.#facade(SnapshotsService);
    this.tasks = this.#facade(TasksService);
    this.version = this.#facade(VersionService);
  }

  /** Closes the channel; in-flight calls fail with `unavailable`. */
  close(): void {
    this.#grpc.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The metadata sent with a call: namespace, and the lease when given. */
  metadata(options: CallOptions = {}): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set("containerd-namespace", this.namespace);
    if (options.lease) md.set("containerd-lease", options.lease);
    return md;
  }

  #callOptions(options: CallOptions): grpc.CallOptions {
    return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
  }

  #facade<D extends Record<string, MethodDef>>(def: D): ServiceFacade<D> {
    const out: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(def)) {
      out[name] = this.#method(m);
    }
    return out as ServiceFacade<D>;
  }

  #method(m: MethodDef): unknown {
    const ser = (v: unknown) => m.requestSerialize(v);
    const de = (b: Buffer) => m.responseDeserialize(b);
    if (!m.requestStream && !m.responseStream) {
      return (req: unknown, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          if (options.signal?.aborted) {
            reject(toContainerdError(m.path, options.signal.reason ?? new Error("aborted")));
            return;
          }
          const call = this.#grpc.makeUnaryRequest(
            m.path,
            ser,
            de,
            req,
            this.metadata(options),
            this.#callOptions(options),
            (err, res) => {
              options.signal?.removeEventListener("abort", onAbort);
              if (err) reject(toContainerdError(m.path, err));
              else resolve(res);
            },
          );
          const onAbort = () => call.cancel();
          options.signal?.addEventListener("abort", onAbort, { once: true });
        });
    }
    if (!m.requestStream && m.responseStream) {
      return (req: unknown, options: CallOptions = {}): ResponseStream<unknown> => {
        const call = this.#grpc.makeServerStreamRequest(
          m.path,
          ser,
          de,
          req,
          this.metadata(options),
          this.#callOptions(options),
        );
        options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        return {
          cancel: () => call.cancel(),
          async *[Symbol.asyncIterator]() {
            try {
              for await (const res of call) yield res;
            } catch (err) {
              throw toContainerdError(m.path, err);
            } finally {
              call.cancel(); // no-op once the stream has ended
            }
          },
        };
      };
    }
    if (m.requestStream && m.responseStream) {
      return (options: CallOptions = {}) => {
        const call = this.#grpc.makeBidiStreamRequest(
          m.path,
          ser,
          de,
          this.metadata(options),
          this.#callOptions(options),
        );
        options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        return call;
      };
    }
    // containerd's API has no client-streaming-only RPC; fail loudly if a new one appears.
    return () => {
      throw new Error(`client-streaming method ${m.path} is not supported`);
    };
  }

  /**
   * Resolves once containerd answers a Version call, retrying until `timeoutMs` (default 10 s).
   * @returns the server version string.
   */
  async waitReady(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const v = await this.version.version({}, { timeoutMs: 1_000 });
        return v.version;
      } catch (err) {
        if (Date.now() >= deadline) {
          throw new WarrenError(
            "unavailable",
            `containerd at ${this.socket} did not answer within ${timeoutMs} ms`,
            { cause: err, retryable: true },
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/**
 * Channels to a list of managers with failover: a call goes to the manager that answered last;
 * when that one is unreachable (UNAVAILABLE: connection refused, no leader, not the leader and
 * unable to forward) the call moves on to the next address, a bounded number of times.
 *
 * A write may reach a manager and apply even though its answer is lost (the connection drops
 * after the request went out, the leader dies mid-write): retried elsewhere it would apply
 * twice. So mutating calls carry a request ID (request_id.ts), the same on every attempt, and
 * managers answer a repeat of an ID with the first outcome instead of applying it again
 * (manager/state/fsm_requests.ts).
 *
 * Calls whose outcome is unknown (DEADLINE_EXCEEDED: the manager may have applied a write) are
 * not retried here, except a write with a request ID that a manager itself answered so (its
 * Raft node stopped with the write in flight): the ID makes that retry safe. A deadline the
 * client ran out of is never retried (it would multiply the wait); the caller sees the typed
 * error and decides.
 * @module
 */
import { type ChannelCredentials, Client, credentials as grpcCredentials } from "@grpc/grpc-js";
import type {
  ChannelOptions,
  ClientReadableStream,
  Metadata as MetadataT,
  ServiceError,
} from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { answeredByServer, fromGrpcError } from "../grpc/status.ts";
import { requestIdMetadata } from "../grpc/request_id.ts";
import { splitHostPort } from "../../proto/schema/common.ts";
import { UnavailableError, ValidationError, type WarrenError } from "../../proto/errors.ts";

/** The parts of a generated method definition the pool needs. */
export interface MethodDef<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => Res;
}

/** Options of a {@link ManagerPool}. */
export interface ManagerPoolOptions {
  /** Manager API addresses, `host:port` (IPv6 in brackets). At least one. */
  addresses: readonly string[];
  /** Channel credentials; insecure by default (the security layer passes mutual TLS ones). */
  credentials?: ChannelCredentials;
  /** Extra channel options, e.g. `grpc.ssl_target_name_override` for TLS to an IP address. */
  channelOptions?: ChannelOptions;
  /** Deadline of one attempt of a unary call. Default 10 s. */
  callTimeoutMs?: number;
  /** Most attempts of one call across addresses. Default: twice the number of addresses. */
  maxAttempts?: number;
}

/**
 * Whether a failed attempt may be repeated on another manager: UNAVAILABLE and not-leader;
 * with a request ID (`idempotent`) also a manager's own DEADLINE_EXCEEDED answer (see the
 * module doc).
 */
export function isFailover(err: WarrenError, idempotent = false): boolean {
  if (err.code === "unavailable" || err.code === "not_leader") return true;
  return idempotent && err.code === "deadline_exceeded" && answeredByServer(err);
}

/** Options of one {@link ManagerPool.unary} call. */
export interface UnaryOptions {
  /** Deadline of each attempt; the pool's default when absent. */
  timeoutMs?: number;
  /**
   * The request ID of a mutating call (request_id.ts `newRequestId`), sent on every attempt:
   * managers answer a repeat with the first outcome, so failing over cannot apply it twice.
   */
  requestId?: string;
  /**
   * When an attempt runs out of its deadline without any answer from the manager, {@link
   * ManagerPool.abandon} that address before throwing: its connection may be a black hole
   * (a partition dropped its packets; TCP keeps it open while it retransmits), and the next
   * call should dial afresh, starting at the next manager.
   */
  abandonSilent?: boolean;
}

/** One grpc-js channel per manager address; calls fail over between them. */
export class ManagerPool implements Disposable {
  readonly #addresses: readonly string[];
  readonly #clients: (Client | undefined)[];
  readonly #credentials: ChannelCredentials;
  readonly #channelOptions: ChannelOptions;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  #preferred = 0;
  #closed = false;

  constructor(opts: ManagerPoolOptions) {
    if (opts.addresses.length === 0) {
      throw new ValidationError("managers", "at least one manager address is required");
    }
    opts.addresses.forEach((a, i) => {
      if (!splitHostPort(a)) {
        throw new ValidationError(
          `managers[${i}]`,
          `"${a}" must be host:port with a port in 1..65535 (IPv6 hosts in brackets)`,
        );
      }
    });
    this.#addresses = [...opts.addresses];
    this.#clients = this.#addresses.map(() => undefined);
    this.#credentials = opts.credentials ?? grpcCredentials.createInsecure();
    this.#channelOptions = {
      // Own connections, so that abandoning a silent manager's channel (abandon) drops its
      // connection instead of handing it to the next channel to that address.
      "grpc.use_local_subchannel_pool": 1,
      // A restarted manager should be found again quickly.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2000,
      "grpc.max_receive_message_length": 64 << 20,
      // A 4 MiB HTTP/2 receive window (default 64 KiB): a list of 1,000 services (~180 KiB)
      // arrives in one go instead of pausing for WINDOW_UPDATE round trips, each a socket write
      // here and a wake-up of the manager; measured ~1 ms less per such list.
      "grpc-node.flow_control_window": 4 << 20,
      ...opts.channelOptions,
    };
    this.#timeoutMs = opts.callTimeoutMs ?? 10_000;
    this.#maxAttempts = opts.maxAttempts ?? 2 * this.#addresses.length;
  }

  /** The configured addresses. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /** The address the next call goes to first. */
  get preferredAddress(): string {
    return this.#addresses[this.#preferred]!;
  }

  /** The grpc-js client (channel) of address number `i`, created on first use. */
  client(i: number): Client {
    if (this.#closed) throw new Error("the Warren client is closed");
    return this.#clients[i] ??= new Client(
      this.#addresses[i]!,
      this.#credentials,
      this.#channelOptions,
    );
  }

  /**
   * Calls a unary method, failing over to the next manager on UNAVAILABLE ({@link isFailover}).
   * Errors are typed Warren errors; the last attempt's error is thrown when every attempt
   * failed over.
   */
  async unary<Req, Res>(
    method: MethodDef<Req, Res>,
    request: Req,
    opts: UnaryOptions = {},
  ): Promise<Res> {
    const idempotent = opts.requestId !== undefined;
    let last: WarrenError | undefined;
    // A manager that answered "unavailable" (no quorum, no leader yet) says what is wrong; a
    // manager that could not be reached at all only says that it could not.
    let answered: WarrenError | undefined;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const i = (this.#preferred + attempt) % this.#addresses.length;
      try {
        const res = await this.unaryOn(i, method, request, opts.timeoutMs ?? this.#timeoutMs, {
          requestId: opts.requestId,
        });
        this.#preferred = i;
        return res;
      } catch (err) {
        last = err as WarrenError;
        if (opts.abandonSilent) this.abandonIfSilent(i, last);
        if (!isFailover(last, idempotent)) throw last;
        if (last.code === "unavailable" && answeredByServer(last)) answered = last;
      }
    }
    throw answered ?? withAddresses(last!, this.#addresses);
  }

  /** One attempt of a unary call on address number `i`, without failover. */
  unaryOn<Req, Res>(
    i: number,
    method: MethodDef<Req, Res>,
    request: Req,
    timeoutMs: number,
    opts: { requestId?: string } = {},
  ): Promise<Res> {
    const client = this.client(i);
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        requestIdMetadata(opts.requestId),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, res?: Res) => {
          if (err) reject(fromGrpcError(err));
          else resolve(res!);
        },
      );
    });
  }

  /**
   * Opens a server stream on address number `i` (no deadline: streams live until cancelled).
   * Use {@link nextAddress} to fail over.
   */
  serverStream<Req, Res>(
    i: number,
    method: MethodDef<Req, Res>,
    request: Req,
  ): ClientReadableStream<Res> {
    const metadata: MetadataT = new Metadata();
    return this.client(i).makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      {},
    );
  }

  /** Index of the address a new stream starts at. */
  firstIndex(): number {
    return this.#preferred;
  }

  /** Index of the address after number `i`, round robin. */
  nextAddress(i: number): number {
    return (i + 1) % this.#addresses.length;
  }

  /**
   * Closes address number `i`'s channel (the next call on it dials a new connection) and, if it
   * was the preferred one, prefers the next address. For a manager that stopped answering
   * without refusing: with no keepalive, grpc-js keeps sending on a connection whose packets a
   * partition dropped until TCP gives up on it, long after the network healed, and a call that
   * only runs out of its deadline never fails over. The pool's channels do not share their
   * connections through grpc-js's global subchannel pool (`grpc.use_local_subchannel_pool`),
   * or a new channel would pick the same connection up again.
   */
  abandon(i: number): void {
    this.#clients[i]?.close();
    this.#clients[i] = undefined;
    if (this.#preferred === i) this.#preferred = this.nextAddress(i);
  }

  /** {@link abandon}s address `i` when `err` is a deadline no manager answered: silence. */
  abandonIfSilent(i: number, err: WarrenError): void {
    if (err.code === "deadline_exceeded" && !answeredByServer(err)) this.abandon(i);
  }

  /** Records that address number `i` answered. */
  markGood(i: number): void {
    this.#preferred = i;
  }

  /** Most attempts of one call. */
  get maxAttempts(): number {
    return this.#maxAttempts;
  }

  /** Closes every channel; later calls fail. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients) c?.close();
    this.#clients.fill(undefined);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Says which managers were tried when every attempt failed over. */
function withAddresses(err: WarrenError, addresses: readonly string[]): WarrenError {
  return new UnavailableError(
    `no manager reachable (tried ${addresses.join(", ")}): ${err.message}`,
    {
      cause: err,
    },
  );
}

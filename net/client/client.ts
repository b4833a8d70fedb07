/**
 * WarrenClient: the manager API for the CLI and other programs, with domain types in and out.
 * Requests are validated with the zod schemas before anything is sent (a bad spec fails with
 * ValidationError("spec.replicas", ...) locally); responses are decoded and validated by the
 * converter, except lists and the service a write returns, which come from the authenticated
 * manager that parsed them and are decoded without validation (their cost shows). Errors are typed Warren errors (net/grpc/status.ts). Calls fail over between the
 * configured managers (see manager_pool.ts).
 * @module
 */
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { z } from "zod";
import { type Codec, codecs } from "../../proto/convert.ts";
import { WarrenError } from "../../proto/errors.ts";
import * as w from "../../proto/gen/warren.ts";
import * as d from "../../proto/schema/mod.ts";
import { decodeServiceList } from "../../proto/list_decode.ts";
import { ManagerPool, type MethodDef } from "./manager_pool.ts";
import { newRequestId } from "../grpc/request_id.ts";
import { watchEvents, type WatchOptions } from "./events.ts";
import { type ExecIo, type LogsOptions, runExec, streamLogs } from "./task_streams.ts";

/** Options of a {@link WarrenClient}. */
export interface WarrenClientOptions {
  /** Manager API addresses, `host:port`. Calls fail over between them in order. */
  managers: readonly string[];
  /** Channel credentials; insecure by default (the security layer passes mutual TLS ones). */
  credentials?: ChannelCredentials;
  /** Extra channel options, e.g. `grpc.ssl_target_name_override` and `grpc.default_authority`. */
  channelOptions?: ChannelOptions;
  /** Deadline of one attempt of a call. Default 10 s. */
  callTimeoutMs?: number;
  /** Most attempts of one call across managers. Default twice the number of managers. */
  maxAttempts?: number;
}

/** Read options: `stale` lets any manager answer from its local, possibly stale, copy. */
export interface ReadOptions {
  stale?: boolean;
}

/** How one manager answered a {@link WarrenClient.status} probe. */
export interface ManagerStatus {
  /** The manager address probed. */
  address: string;
  /** Whether it answered. */
  ok: boolean;
  /** Round trip of the probe. */
  latencyMs: number;
  /** Its view of the cluster, when it answered. */
  cluster?: d.ClusterInfo;
  /** Why it did not answer. */
  error?: WarrenError;
}

/**
 * `ServiceService/List` as bytes; {@link WarrenClient} decodes them after the call, straight into
 * domain values (proto/list_decode.ts: one service converted at a time). Not in
 * `responseDeserialize`: decoded there, inside grpc-js's HTTP/2 data handling, a list of 1,000
 * services survived young GCs (each scavenge 15-45 ms, ~8 MB promoted; tests/bench/README.md),
 * decoded after the call it does not (~1 ms scavenges).
 */
const SERVICE_LIST_BYTES: MethodDef<w.ListServicesRequest, Uint8Array> = {
  ...w.ServiceServiceService.list,
  responseDeserialize: (bytes) => bytes,
};

/**
 * The options of a mutating call: a new request ID, made once per call and sent on each of its
 * attempts, so a failover after a lost answer is answered with the first outcome instead of
 * applying the write twice (manager_pool.ts).
 */
function writeOptions(): { requestId: string } {
  return { requestId: newRequestId() };
}

/** Decodes a response; a manager sending an invalid object is an internal error, not bad input. */
function decode<D, W>(c: Codec<D, W>, message: W, what: string): D {
  try {
    return c.fromWire(message, what);
  } catch (err) {
    throw new WarrenError(
      "internal",
      `the manager sent an invalid ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Client of the Warren manager API. Close it (or `using` it) to release its channels. */
export class WarrenClient implements Disposable {
  readonly #pool: ManagerPool;

  constructor(opts: WarrenClientOptions) {
    this.#pool = new ManagerPool({
      addresses: opts.managers,
      credentials: opts.credentials,
      channelOptions: opts.channelOptions,
      callTimeoutMs: opts.callTimeoutMs,
      maxAttempts: opts.maxAttempts,
    });
  }

  /** The manager addresses this client uses. */
  get managers(): readonly string[] {
    return this.#pool.addresses;
  }

  /** ClusterService: cluster identity and join tokens. */
  readonly cluster = {
    /** Cluster ID, name, Raft position, node counts and address plan. */
    info: async (opts: ReadOptions = {}): Promise<d.ClusterInfo> => {
      const req = d.parseOrThrow(d.GetClusterInfoRequestSchema, { stale: opts.stale });
      const res = await this.#pool.unary(
        w.ClusterServiceService.getInfo,
        codecs.GetClusterInfoRequest.toWire(req),
      );
      return decode(codecs.ClusterInfo, res, "cluster");
    },
    /** The join token of `role`; `rotate` replaces it first (the old one stops working). */
    joinToken: async (role: d.NodeRole, rotate = false): Promise<d.JoinToken> => {
      const req = d.parseOrThrow(d.GetJoinTokenRequestSchema, { role, rotate });
      const res = await this.#pool.unary(
        w.ClusterServiceService.getJoinToken,
        codecs.GetJoinTokenRequest.toWire(req),
      );
      return decode(codecs.JoinToken, res, "token");
    },
    /** Turns autolock on or off (`rotate`: a new unlock key); the unlock key when on. */
    updateAutolock: async (autolock: boolean, rotate = false): Promise<d.UnlockKey> => {
      const req = d.parseOrThrow(d.UpdateAutolockRequestSchema, { autolock, rotate });
      const res = await this.#pool.unary(
        w.ClusterServiceService.updateAutolock,
        codecs.UpdateAutolockRequest.toWire(req),
      );
      return decode(codecs.UnlockKey, res, "unlockKey");
    },
    /** The current unlock key (FAILED_PRECONDITION when autolock is off). */
    unlockKey: async (): Promise<d.UnlockKey> => {
      const res = await this.#pool.unary(w.ClusterServiceService.getUnlockKey, {});
      return decode(codecs.UnlockKey, res, "unlockKey");
    },
    /** Unlocks the manager this client talks to (give it exactly one manager address). */
    unlock: async (unlockKey: string): Promise<void> => {
      const req = d.parseOrThrow(d.UnlockRequestSchema, { unlockKey: unlockKey.trim() });
      await this.#pool.unary(w.ClusterServiceService.unlock, codecs.UnlockRequest.toWire(req));
    },
  };

  /** NodeService. */
  readonly nodes = {
    /** Every node (optionally one role), with the Raft index the list reflects. */
    list: async (
      opts: ReadOptions & { role?: d.NodeRole } = {},
    ): Promise<d.ListNodesResponse> => {
      const req = d.parseOrThrow(d.ListNodesRequestSchema, { stale: opts.stale, role: opts.role });
      const res = await this.#pool.unary(
        w.NodeServiceService.list,
        codecs.ListNodesRequest.toWire(req),
      );
      return codecs.ListNodesResponse.fromWireTrusted(res);
    },
    /** One node by ID or host name. */
    inspect: async (id: string, opts: ReadOptions = {}): Promise<d.Node> => {
      const req = d.parseOrThrow(d.InspectRequestSchema, { id, stale: opts.stale });
      const res = await this.#pool.unary(
        w.NodeServiceService.inspect,
        codecs.InspectNodeRequest.toWire(req),
      );
      return decode(codecs.Node, res, "node");
    },
    /** Changes availability, role or labels of a node. */
    update: async (id: string, update: z.input<typeof d.NodeUpdateSchema>): Promise<d.Node> => {
      const req = d.parseOrThrow(d.UpdateNodeRequestSchema, { ...update, id });
      const res = await this.#pool.unary(
        w.NodeServiceService.update,
        codecs.UpdateNodeRequest.toWire(req),
        writeOptions(),
      );
      return decode(codecs.Node, res, "node");
    },
    /** Removes a node; `force` even when it is not down. */
    remove: async (id: string, opts: { force?: boolean } = {}): Promise<void> => {
      const req = d.parseOrThrow(d.RemoveRequestSchema, { id, force: opts.force });
      await this.#pool.unary(
        w.NodeServiceService.remove,
        codecs.RemoveNodeRequest.toWire(req),
        writeOptions(),
      );
    },
  };

  /** ServiceService. */
  readonly services = {
    /** Creates a service; the spec is validated (and defaults filled in) before sending. */
    create: async (spec: d.ServiceSpecInput): Promise<d.Service> => {
      const req = d.parseOrThrow(d.CreateServiceRequestSchema, { spec });
      const res = await this.#pool.unary(
        w.ServiceServiceService.create,
        codecs.CreateServiceRequest.toWire(req),
        writeOptions(),
      );
      // The manager answers with the service it stored (parsed when it was written): validating
      // it again cost ~0.4 ms of client CPU per create, as much as the rest of the client's
      // share of the call (scripts create in loops).
      return codecs.Service.fromWireTrusted(res);
    },
    /** Every service, with the Raft index the list reflects. */
    list: async (opts: ReadOptions = {}): Promise<d.ListServicesResponse> => {
      const req = d.parseOrThrow(d.ListRequestSchema, { stale: opts.stale });
      const bytes = await this.#pool.unary(
        SERVICE_LIST_BYTES,
        codecs.ListServicesRequest.toWire(req),
      );
      try {
        return decodeServiceList(bytes);
      } catch (err) {
        throw new WarrenError(
          "internal",
          `the manager sent an invalid service list: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    /** One service by ID or name. */
    inspect: async (id: string, opts: ReadOptions = {}): Promise<d.Service> => {
      const req = d.parseOrThrow(d.InspectRequestSchema, { id, stale: opts.stale });
      const res = await this.#pool.unary(
        w.ServiceServiceService.inspect,
        codecs.InspectServiceRequest.toWire(req),
      );
      return decode(codecs.Service, res, "service");
    },
    /**
     * Replaces the spec of a service (complete spec; defaults apply). With
     * `expectedSpecVersion` the update fails unless the service is still at that version, with
     * `expectedRevision` unless nothing wrote its spec since (a scale included): a
     * read-modify-write passes the `revision` it read (`d.serviceRevision`).
     */
    update: async (
      id: string,
      spec: d.ServiceSpecInput,
      opts: { expectedSpecVersion?: number; expectedRevision?: number; force?: boolean } = {},
    ): Promise<d.Service> => {
      const req = d.parseOrThrow(d.UpdateServiceRequestSchema, {
        id,
        spec,
        expectedSpecVersion: opts.expectedSpecVersion,
        expectedRevision: opts.expectedRevision,
        ...(opts.force ? { force: true } : {}),
      });
      const res = await this.#pool.unary(
        w.ServiceServiceService.update,
        codecs.UpdateServiceRequest.toWire(req),
        writeOptions(),
      );
      return codecs.Service.fromWireTrusted(res); // as for create
    },
    /** Sets the replica count of a replicated service. */
    scale: async (id: string, replicas: number): Promise<d.Service> => {
      const req = d.parseOrThrow(d.ScaleServiceRequestSchema, { id, replicas });
      const res = await this.#pool.unary(
        w.ServiceServiceService.scale,
        codecs.ScaleServiceRequest.toWire(req),
        writeOptions(),
      );
      return codecs.Service.fromWireTrusted(res); // as for create
    },
    /** Deletes a service (its tasks are shut down). */
    delete: async (id: string): Promise<void> => {
      const req = d.parseOrThrow(d.IdRequestSchema, { id });
      await this.#pool.unary(
        w.ServiceServiceService.delete,
        codecs.DeleteServiceRequest.toWire(req),
        writeOptions(),
      );
    },
    /** Restores the previous spec of a service. */
    rollback: async (id: string): Promise<d.Service> => {
      const req = d.parseOrThrow(d.IdRequestSchema, { id });
      const res = await this.#pool.unary(
        w.ServiceServiceService.rollback,
        codecs.RollbackServiceRequest.toWire(req),
        writeOptions(),
      );
      return codecs.Service.fromWireTrusted(res); // as for create
    },
  };

  /** TaskService. */
  readonly tasks = {
    /** Tasks of a service and/or node (ID or name); `history` includes terminal ones. */
    list: async (
      opts: ReadOptions & { serviceId?: string; nodeId?: string; history?: boolean } = {},
    ): Promise<d.ListTasksResponse> => {
      const req = d.parseOrThrow(d.ListTasksRequestSchema, {
        serviceId: opts.serviceId,
        nodeId: opts.nodeId,
        history: opts.history,
        stale: opts.stale,
      });
      const res = await this.#pool.unary(
        w.TaskServiceService.list,
        codecs.ListTasksRequest.toWire(req),
      );
      return codecs.ListTasksResponse.fromWireTrusted(res);
    },
    /**
     * Output of a task or of every task of a service, in batches of lines. With `follow` it
     * ends when the tasks end; it fails with UNAVAILABLE if the connection goes quiet.
     */
    logs: (opts: LogsOptions): AsyncIterable<d.TaskLogsMessage> => streamLogs(this.#pool, opts),
    /**
     * Runs a command in a running task (ID or SERVICE.SLOT); resolves with its exit code once
     * its output went to `io.stdout` / `io.stderr`.
     */
    exec: (start: d.ExecStartInput, io: ExecIo = {}): Promise<number> =>
      runExec(this.#pool, start, io),
  };

  /** SecretService (metadata only comes back; data is write-only). */
  readonly secrets = {
    /** Creates a secret from its plaintext bytes (1 B .. 500 KiB). */
    create: async (
      opts: { name: string; data: Uint8Array; labels?: Record<string, string> },
    ): Promise<d.Secret> => {
      const req = d.parseOrThrow(d.SecretCreateRequestSchema, {
        name: opts.name,
        data: d.encodeBase64(opts.data),
        labels: opts.labels,
      });
      const res = await this.#pool.unary(
        w.SecretServiceService.create,
        codecs.CreateSecretRequest.toWire(req),
        writeOptions(),
      );
      return decode(codecs.Secret, res, "secret");
    },
    /**
     * Replaces a secret's data (and labels) with a new version; services using it roll to the
     * new version. `unlessSame`: no new version when data and labels are the current ones (the
     * answer's version tells); `dryRun`: change nothing, answer as the update would.
     */
    update: async (
      id: string,
      opts: {
        data: Uint8Array;
        labels?: Record<string, string>;
        unlessSame?: boolean;
        dryRun?: boolean;
      },
    ): Promise<d.Secret> => {
      const req = d.parseOrThrow(d.SecretUpdateRequestSchema, {
        id,
        data: d.encodeBase64(opts.data),
        labels: opts.labels,
        unlessSame: opts.unlessSame,
        dryRun: opts.dryRun,
      });
      const res = await this.#pool.unary(
        w.SecretServiceService.update,
        codecs.UpdateSecretRequest.toWire(req),
        writeOptions(),
      );
      return decode(codecs.Secret, res, "secret");
    },
    /** Every secret's metadata. */
    list: async (opts: ReadOptions = {}): Promise<d.ListSecretsResponse> => {
      const req = d.parseOrThrow(d.ListRequestSchema, { stale: opts.stale });
      const res = await this.#pool.unary(
        w.SecretServiceService.list,
        codecs.ListSecretsRequest.toWire(req),
      );
      return codecs.ListSecretsResponse.fromWireTrusted(res);
    },
    /** One secret's metadata by ID or name. */
    inspect: async (id: string, opts: ReadOptions = {}): Promise<d.Secret> => {
      const req = d.parseOrThrow(d.InspectRequestSchema, { id, stale: opts.stale });
      const res = await this.#pool.unary(
        w.SecretServiceService.inspect,
        codecs.InspectSecretRequest.toWire(req),
      );
      return decode(codecs.Secret, res, "secret");
    },
    /** Deletes a secret (fails while a service uses it). */
    delete: async (id: string): Promise<void> => {
      const req = d.parseOrThrow(d.IdRequestSchema, { id });
      await this.#pool.unary(
        w.SecretServiceService.delete,
        codecs.DeleteSecretRequest.toWire(req),
        writeOptions(),
      );
    },
  };

  /** VolumeService. */
  readonly volumes = {
    /** Creates a volume. */
    create: async (req: z.input<typeof d.VolumeCreateRequestSchema>): Promise<d.Volume> => {
      const parsed = d.parseOrThrow(d.VolumeCreateRequestSchema, req);
      const res = await this.#pool.unary(
        w.VolumeServiceService.create,
        codecs.CreateVolumeRequest.toWire(parsed),
        writeOptions(),
      );
      return decode(codecs.Volume, res, "volume");
    },
    /** Every volume. */
    list: async (opts: ReadOptions = {}): Promise<d.ListVolumesResponse> => {
      const req = d.parseOrThrow(d.ListRequestSchema, { stale: opts.stale });
      const res = await this.#pool.unary(
        w.VolumeServiceService.list,
        codecs.ListVolumesRequest.toWire(req),
      );
      return codecs.ListVolumesResponse.fromWireTrusted(res);
    },
    /** One volume by ID or name. */
    inspect: async (id: string, opts: ReadOptions = {}): Promise<d.Volume> => {
      const req = d.parseOrThrow(d.InspectRequestSchema, { id, stale: opts.stale });
      const res = await this.#pool.unary(
        w.VolumeServiceService.inspect,
        codecs.InspectVolumeRequest.toWire(req),
      );
      return decode(codecs.Volume, res, "volume");
    },
    /** Deletes a volume no service mounts; with `force` a missing volume is no error. */
    delete: async (id: string, opts: { force?: boolean } = {}): Promise<void> => {
      const req = d.parseOrThrow(d.RemoveRequestSchema, { id, force: opts.force });
      await this.#pool.unary(
        w.VolumeServiceService.delete,
        codecs.DeleteVolumeRequest.toWire(req),
        writeOptions(),
      );
    },
  };

  /** EventService. */
  readonly events = {
    /**
     * Streams changes in commit order from `fromIndex` (0: from now on), optionally only some
     * kinds. The iterable ends cleanly when `signal` aborts; on UNAVAILABLE it resumes on the
     * next manager after the last delivered index.
     */
    watch: (opts: WatchOptions = {}): AsyncIterable<d.Event> => watchEvents(this.#pool, opts),
  };

  /**
   * Probes every configured manager once (a stale ClusterService.GetInfo, so followers answer
   * too) and reports which answered, how fast, and their view of the cluster. Never throws for
   * an unreachable manager.
   */
  async status(opts: { timeoutMs?: number } = {}): Promise<ManagerStatus[]> {
    const req = codecs.GetClusterInfoRequest.toWire({ stale: true });
    return await Promise.all(this.#pool.addresses.map(async (address, i) => {
      const started = performance.now();
      try {
        const res = await this.#pool.unaryOn(
          i,
          w.ClusterServiceService.getInfo,
          req,
          opts.timeoutMs ?? 3_000,
        );
        const latencyMs = performance.now() - started;
        return {
          address,
          ok: true,
          latencyMs,
          cluster: decode(codecs.ClusterInfo, res, "cluster"),
        };
      } catch (err) {
        const latencyMs = performance.now() - started;
        return { address, ok: false, latencyMs, error: err as WarrenError };
      }
    }));
  }

  /** Closes the channels; later calls fail. */
  close(): void {
    this.#pool.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

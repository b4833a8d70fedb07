/**
 * A worker node: the {@link Worker} (tasks, local state) plus its {@link Agent} (manager
 * session), started and stopped as a unit. Graceful stop: stop receiving work, optionally drain
 * (stop every task with its stop signal and grace period), report, and leave the remaining
 * containers running for the next start to re-adopt.
 *
 * A node the managers no longer know (it left or was removed) stops its tasks: the cluster has
 * rescheduled them elsewhere, and keeping them would run them twice.
 * @module
 */
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { RegisterRequest } from "../proto/schema/mod.ts";
import type { WarrenError } from "../proto/errors.ts";
import { logger } from "../proto/log.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { Agent } from "./agent.ts";
import type { Clock } from "./clock.ts";
import { Tunnel } from "./tunnel.ts";
import { type NetworkHooks, Worker, type WorkerOptions } from "./worker.ts";

/** Options of {@link startWorkerNode}. */
export interface WorkerNodeOptions {
  nodeId: string;
  dataDir: string;
  runtime: Runtime;
  /** Manager API addresses, `host:port`. */
  managers: readonly string[];
  /** What the node offers the scheduler. */
  register: Omit<RegisterRequest, "nodeId">;
  network?: NetworkHooks;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  registryCredentials?: WorkerOptions["credentials"];
  clock?: Clock;
  reportBatchMs?: number;
  /** Reconnect backoff bounds (ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Deadline of the agent's Register, Heartbeat and ReportStatus calls (ms). Default 5 s. */
  callTimeoutMs?: number;
  /** Called with every manager address the agent knows whenever that list changes. */
  onManagers?: (addresses: readonly string[]) => void;
}

/** A running worker node. */
export interface WorkerNode extends AsyncDisposable {
  readonly worker: Worker;
  readonly agent: Agent;
  /** The tunnel the leader sends log and exec requests over. */
  readonly tunnel: Tunnel;
  /**
   * Settles once the managers answered that this node is not a member of the cluster, after the
   * node stopped with every task shut down; never settles otherwise.
   */
  readonly notMember: Promise<WarrenError>;
  /**
   * Stops gracefully; with `drain`, every task is shut down first; with `remove` (the node left
   * its cluster), their containers are removed too (see {@link Worker.stop}). Idempotent.
   */
  stop(opts?: { drain?: boolean; remove?: boolean; reportTimeoutMs?: number }): Promise<void>;
}

/** Opens the worker (re-adopting its containers) and starts its manager session. */
export async function startWorkerNode(o: WorkerNodeOptions): Promise<WorkerNode> {
  const worker = await Worker.open({
    nodeId: o.nodeId,
    dataDir: o.dataDir,
    runtime: o.runtime,
    ...(o.network ? { network: o.network } : {}),
    ...(o.registryCredentials ? { credentials: o.registryCredentials } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  const notMember = Promise.withResolvers<WarrenError>();
  const agent = Agent.start({
    worker,
    onNotMember: (err) => {
      logger("worker", { node: o.nodeId }).error(
        "this node is no longer a member of the cluster: stopping its tasks",
        { err: err.message },
      );
      const settle = () => notMember.resolve(err);
      // No manager takes this node's reports any more: do not wait for them. Out of the
      // cluster, its containers go as on a leave (no shim or mount is left behind).
      void stop({ drain: true, remove: true, reportTimeoutMs: 0 }).then(settle, settle);
    },
    managers: o.managers,
    ...(o.onManagers ? { onManagers: o.onManagers } : {}),
    register: o.register,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.channelOptions ? { channelOptions: o.channelOptions } : {}),
    ...(o.reportBatchMs !== undefined ? { reportBatchMs: o.reportBatchMs } : {}),
    ...(o.reconnectMinMs !== undefined ? { reconnectMinMs: o.reconnectMinMs } : {}),
    ...(o.reconnectMaxMs !== undefined ? { reconnectMaxMs: o.reconnectMaxMs } : {}),
    ...(o.callTimeoutMs !== undefined ? { callTimeoutMs: o.callTimeoutMs } : {}),
  });
  const tunnel = Tunnel.start({
    worker,
    managers: () => agent.managerAddresses,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.channelOptions ? { channelOptions: o.channelOptions } : {}),
    ...(o.reconnectMinMs !== undefined ? { reconnectMinMs: o.reconnectMinMs } : {}),
    ...(o.reconnectMaxMs !== undefined ? { reconnectMaxMs: o.reconnectMaxMs } : {}),
  });
  let stopping: Promise<void> | undefined;
  const stop = (opts: { drain?: boolean; remove?: boolean; reportTimeoutMs?: number } = {}) =>
    stopping ??= (async () => {
      await tunnel.close();
      await agent.stopReceiving();
      await worker.stop({ drain: opts.drain ?? false, remove: opts.remove ?? false });
      await agent.flushReports(opts.reportTimeoutMs ?? 5_000);
      await agent.close();
    })();
  return {
    worker,
    agent,
    tunnel,
    notMember: notMember.promise,
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}

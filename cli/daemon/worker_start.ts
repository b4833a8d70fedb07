/**
 * `warren worker start [MANAGER_ADDR] [--token T]`: runs this machine as a worker node in the
 * foreground (joining first when given a token, as `warren join` does): a containerd
 * runtime, the worker (tasks, local state, re-adoption) and its manager session. SIGINT/SIGTERM
 * stop it gracefully: no new work, statuses reported, containers left running (re-adopted on the
 * next start) unless `--drain-on-exit`.
 *
 * The node ID comes from `<data-dir>/identity.json`, written when the node joined.
 * @module
 */
import { join } from "node:path";
import { Command } from "commander";
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import { readIdentity } from "../../manager/identity.ts";
import { hostName, hostPlatform, hostResources } from "../../manager/host_info.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import type { ContainerdRuntimeOptions } from "../../runtime/containerd/runtime.ts";
import type { WorkerNode } from "../../worker/node.ts";
import type { NetworkHooks } from "../../worker/worker.ts";
import type { NodeNetworking } from "./node_network.ts";
import { ValidationError } from "../../proto/errors.ts";
import { VERSION } from "../../proto/version.ts";
import { addJoinFlags, joinAndRun } from "./join.ts";
import { addWorkerFlags, advertiseAddress, defaultDataDir, type WorkerFlags } from "./options.ts";

/** Default containerd socket. */
export const DEFAULT_CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

/** Options of {@link startWorker}. */
export interface StartWorkerOptions {
  dataDir: string;
  /** Manager API addresses, `host:port`; at least one. */
  managers: string[];
  /** This node's ID; default the one in `<dataDir>/identity.json`. */
  nodeId?: string;
  /** Address other nodes reach this one at; default the first non-loopback IPv4. */
  advertiseAddr?: string;
  /** Host name reported to the managers; default this host's. */
  hostname?: string;
  /** containerd socket and namespace (ignored when `runtime` is given). */
  containerdSocket?: string;
  containerdNamespace?: string;
  /** A runtime to use instead of containerd (the caller closes it). */
  runtime?: Runtime;
  network?: NetworkHooks;
  /** Mesh + data plane (announced in Register, fed every assignments message). */
  networking?: NodeNetworking;
  /** Mutual TLS from the security layer; insecure when absent. */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** Serve Prometheus `/metrics` (per-task CPU and memory) on this `host:port`. */
  metricsAddr?: string;
  /** Registries (`host[:port]`) the containerd runtime pulls from over plain HTTP. */
  insecureRegistries?: string[];
  /** Called with the manager addresses the worker knows whenever they change. */
  onManagers?: (addresses: readonly string[]) => void;
}

/** The containerd runtime's options for a worker started with `o`. */
export function containerdRuntimeOptions(o: StartWorkerOptions): ContainerdRuntimeOptions {
  return {
    socket: o.containerdSocket ?? DEFAULT_CONTAINERD_SOCKET,
    dataDir: join(o.dataDir, "runtime"),
    ...(o.containerdNamespace ? { namespace: o.containerdNamespace } : {}),
    ...(o.insecureRegistries?.length ? { insecureRegistries: o.insecureRegistries } : {}),
  };
}

/** A started worker and how to stop it. */
export interface StartedWorker {
  node: WorkerNode;
  /**
   * Stops gracefully (drain if asked; remove the containers too when the node left its
   * cluster), then closes the runtime it opened.
   */
  stop(opts?: { drain?: boolean; remove?: boolean }): Promise<void>;
}

/** Builds the runtime and starts a worker node. */
export async function startWorker(o: StartWorkerOptions): Promise<StartedWorker> {
  if (o.managers.length === 0) {
    throw new ValidationError("--manager", "at least one manager address is required");
  }
  const nodeId = o.nodeId ?? (await readIdentity(o.dataDir))?.nodeId;
  if (!nodeId) {
    throw new ValidationError(
      "--node-id",
      `${o.dataDir} holds no node identity: run 'warren join' first or pass --node-id`,
    );
  }
  // Loaded here, not at start-up: a manager-only daemon never runs a worker, and the worker,
  // the containerd client and its generated code cost it memory (~3 MiB measured).
  const [{ ContainerdRuntime }, { startWorkerNode }, { serveWorkerMetrics }] = await Promise.all([
    import("../../runtime/containerd/runtime.ts"),
    import("../../worker/node.ts"),
    import("../../worker/metrics_http.ts"),
  ]);
  const ownRuntime = o.runtime === undefined;
  const runtime = o.runtime ?? new ContainerdRuntime(containerdRuntimeOptions(o));
  try {
    const node = await startWorkerNode({
      nodeId,
      dataDir: join(o.dataDir, "worker"),
      runtime,
      managers: o.managers,
      register: {
        hostname: o.hostname ?? hostName(),
        addresses: { advertise: advertiseAddress(o.advertiseAddr, "0.0.0.0:0") },
        resources: hostResources(),
        platform: hostPlatform(),
        version: VERSION,
        ...(o.networking ? { wireguard: o.networking.mesh.wireguard } : {}),
      },
      ...(o.networking ? { network: o.networking.hooks } : o.network ? { network: o.network } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      ...(o.channelOptions ? { channelOptions: o.channelOptions } : {}),
      ...(o.onManagers ? { onManagers: o.onManagers } : {}),
    });
    const metrics = o.metricsAddr
      ? serveWorkerMetrics({
        worker: node.worker,
        address: o.metricsAddr,
        links: {
          managerConnected: () => node.agent.connected,
          tunnelConnected: () => node.tunnel.connected,
        },
      })
      : undefined;
    if (o.networking) o.networking.follow(node.worker);
    return {
      node,
      async stop(opts = {}) {
        try {
          await metrics?.close();
          await node.stop({ drain: opts.drain ?? false, remove: opts.remove ?? false });
        } finally {
          if (ownRuntime) await runtime.close();
        }
      },
    };
  } catch (err) {
    if (ownRuntime) await runtime.close();
    throw err;
  }
}

/**
 * The `warren worker start` command: the seed's spelling of `warren join` for a worker. With
 * MANAGER_ADDR and `--token` it joins first; a data directory that already joined restarts its
 * worker, reconnecting to MANAGER_ADDR and any `--manager`.
 */
export function workerStartCommand(): Command {
  const cmd = new Command("start")
    .description(
      "run this machine as a worker node (foreground, until SIGINT/SIGTERM), joining first with --token",
    )
    .argument("[manager]", "API address of any manager, host:port")
    .option("--data-dir <dir>", "where this node keeps its state", defaultDataDir())
    .option(
      "--manager <host:port>",
      "another manager API address (repeat for several)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--advertise-addr <host>", "address other nodes reach this one at")
    .option("--log-level <level>", "debug|info|warn|error", "info")
    .option("--log-format <format>", "text|json", "text");
  addJoinFlags(cmd, "worker join token from 'warren cluster join-token worker': join first");
  addWorkerFlags(cmd);
  return cmd.action(async (managerAddr: string | undefined, f: WorkerStartFlags) => {
    const managers = [...(managerAddr ? [managerAddr] : []), ...f.manager];
    if (managers.length === 0) {
      throw new ValidationError("MANAGER_ADDR", "a manager address is required (or --manager)");
    }
    await joinAndRun(
      managers,
      { ...f, apiAddr: "0.0.0.0:0", raftAddr: "0.0.0.0:0", httpAddr: "0.0.0.0:0" },
      { workerOnly: true },
    );
  });
}

interface WorkerStartFlags extends WorkerFlags {
  dataDir: string;
  manager: string[];
  token?: string;
  label: string[];
  advertiseAddr?: string;
  logLevel: string;
  logFormat: string;
}

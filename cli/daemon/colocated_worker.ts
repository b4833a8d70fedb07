/**
 * The worker a manager daemon runs in its own process unless `--manager-only`, as every Swarm
 * manager is also a worker: `cluster init` starts one, and so does `warren join` with a manager
 * token. It shares the manager's identity (node ID, certificate, advertise address) and talks to
 * the manager's own API port; the node's containerd, networking and worker start here and stop
 * in the reverse order.
 * @module
 */
import type { Manager } from "../../manager/manager.ts";
import { channelCredentials, channelOptionsFor, MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { UnavailableError, type WarrenError } from "../../proto/errors.ts";
import type { WorkerFlags } from "./options.ts";
import { managersToRecord } from "./pid_file.ts";
import { runStops } from "./shutdown.ts";

/** A running co-located worker. */
export interface ColocatedWorker {
  /**
   * Stops the worker, its networking and the containerd it started. `drain` stops the tasks;
   * `remove` (the node left its cluster) also removes their containers, networks and files.
   */
  stop(opts: { drain: boolean; remove: boolean }): Promise<void>;
  /**
   * Settles once the managers answered the worker that this node is not a member (it was
   * removed), after it stopped its tasks; never settles otherwise.
   */
  readonly notMember: Promise<WarrenError>;
}

/**
 * How long a manager that just joined or restarted waits to see its own node's task subnet in
 * the replicated state (it arrives with the log as the manager catches up).
 */
const SUBNET_WAIT_MS = 60_000;

/** Starts the worker side of manager `mgr` in this process (see the module doc). */
export async function startColocatedWorker(
  mgr: Manager,
  o: WorkerFlags & { dataDir: string },
): Promise<ColocatedWorker> {
  // Loaded only when this manager also runs tasks (see worker_start.ts).
  const [{ containerdFor }, { startNodeNetworking }, { startWorker }] = await Promise.all([
    import("./worker_join.ts"),
    import("./node_network.ts"),
    import("./worker_start.ts"),
  ]);
  const { subnet, clusterCidr } = await ownSubnet(mgr, SUBNET_WAIT_MS);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    await runStops(stops, (err) => errors.push(err));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "stopping the worker failed");
  };
  // Set when stopping: what to do with the tasks and their networks.
  let how = { drain: false, remove: false };
  let notMember: Promise<WarrenError> | undefined;
  try {
    const containerd = await containerdFor(o.dataDir, o.containerdSocket);
    stops.unshift(containerd.stop);
    const networking = await startNodeNetworking({
      nodeId: mgr.identity.nodeId,
      dataDir: o.dataDir,
      subnet,
      clusterCidr,
      advertiseAddr: mgr.advertiseAddr,
    });
    // Containers stay up across a restart unless drained: keep their networks so they are
    // re-adopted.
    stops.unshift(() => networking.close({ keepTasks: !how.drain }));
    const w = await startWorker({
      networking,
      dataDir: o.dataDir,
      managers: managerAddresses(mgr),
      nodeId: mgr.identity.nodeId,
      advertiseAddr: mgr.advertiseAddr,
      containerdSocket: containerd.socket,
      ...(o.metricsAddr ? { metricsAddr: o.metricsAddr } : {}),
      insecureRegistries: o.insecureRegistry,
      credentials: channelCredentials(mgr.tls!),
      channelOptions: channelOptionsFor(MANAGER_SERVER_NAME),
    });
    stops.unshift(() => w.stop(how));
    notMember = w.node.notMember;
    // The manager's /metrics also shows this node's tasks (CPU, memory), so one scrape of a
    // single-node cluster sees everything; --metrics-addr serves them on their own too.
    const { renderWorkerMetrics } = await import("../../worker/metrics_http.ts");
    const worker = w.node.worker;
    const removeSource = mgr.metrics.addSource(async () =>
      renderWorkerMetrics(await worker.metrics(), worker.tasks(), {
        nodeId: worker.nodeId,
        rssBytes: Deno.memoryUsage().rss,
        links: {
          managerConnected: () => w.node.agent.connected,
          tunnelConnected: () => w.node.tunnel.connected,
        },
      })
    );
    stops.unshift(() => Promise.resolve(removeSource()));
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
  return {
    stop: async (opts) => {
      how = opts;
      await stopAll();
    },
    notMember: notMember!,
  };
}

/**
 * This node's task subnet and the cluster's address range from the replicated state, waiting
 * (bounded) for them to be applied: a manager that just joined has not caught up yet.
 */
async function ownSubnet(
  mgr: Manager,
  timeoutMs: number,
): Promise<{ subnet: string; clusterCidr: string }> {
  const read = () => {
    const subnet = mgr.store.state.nodeSubnets.get(mgr.identity.nodeId);
    const clusterCidr = mgr.store.state.cluster?.cidrs.clusterCidr;
    return subnet && clusterCidr ? { subnet, clusterCidr } : undefined;
  };
  const now = read();
  if (now) return now;
  const { promise, resolve, reject } = Promise.withResolvers<{
    subnet: string;
    clusterCidr: string;
  }>();
  const check = () => {
    const got = read();
    if (got) resolve(got);
  };
  // A snapshot (a manager far behind) replaces the state without per-command changes.
  const offs = [mgr.store.onApplied(check), mgr.store.onClusterChange(check)];
  const timer = setTimeout(
    () =>
      reject(
        new UnavailableError(
          `this manager has not caught up with the cluster's state (its own task subnet) in ${
            timeoutMs / 1000
          } s: is a quorum of managers up?`,
        ),
      ),
    timeoutMs,
  );
  try {
    return await promise;
  } finally {
    for (const off of offs) off();
    clearTimeout(timer);
  }
}

/**
 * This manager's API address first, then the other managers' from the replicated state: a
 * follower refuses worker sessions (the dispatcher runs on the leader), and a manager that
 * joined starts as a follower, so its worker must know where else to register. Managers that
 * join later reach it in Register and Heartbeat answers.
 */
function managerAddresses(mgr: Manager): string[] {
  return [...new Set([mgr.apiAddress, ...managersToRecord(mgr)])];
}

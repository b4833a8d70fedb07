/**
 * Runs a worker that joined (or rejoins) a cluster: records its identity and certificate,
 * connects to the managers over mutual TLS, renews its certificate before it expires, and uses
 * the host's containerd or starts and supervises its own.
 * @module
 */
import { join } from "node:path";
import { readIdentity, writeIdentity } from "../../manager/identity.ts";
import { FailedPreconditionError, type WarrenError } from "../../proto/errors.ts";
import { forgetMembership, NodeRemovedError } from "./membership.ts";
import { type NodeNetworking, startNodeNetworking } from "./node_network.ts";
import { advertiseAddress } from "./options.ts";
import { readTlsFiles, writeTlsFiles } from "../../manager/tls_files.ts";
import {
  channelCredentials,
  channelOptionsFor,
  MANAGER_SERVER_NAME,
  TlsIdentity,
} from "../../net/grpc/tls.ts";
import { startRenewal } from "../../net/grpc/renewal.ts";
import { ContainerdSupervisor } from "../../runtime/containerd/supervisor.ts";
import type { JoinResponse } from "../../proto/schema/mod.ts";
import { logger } from "../../proto/log.ts";
import type { DaemonFlags, WorkerFlags } from "./options.ts";
import { DEFAULT_CONTAINERD_SOCKET, startWorker } from "./worker_start.ts";
import { renewThroughManagers } from "./renew_client.ts";
import { waitForShutdown } from "./shutdown.ts";
import { knownManagers, leaveRequested, recordManagers, writePidFile } from "./pid_file.ts";

/** Options of {@link runJoinedWorker}. */
export interface JoinedWorkerOptions {
  flags: DaemonFlags & WorkerFlags;
  managers: string[];
  join: { response: JoinResponse; keyPem: string } | undefined;
}

/** Uses the host's containerd socket when it exists, else starts Warren's own containerd. */
export async function containerdFor(
  dataDir: string,
  socket: string | undefined,
): Promise<{ socket: string; stop: () => Promise<void> }> {
  const path = socket ?? DEFAULT_CONTAINERD_SOCKET;
  try {
    if ((await Deno.stat(path)).isSocket) return { socket: path, stop: async () => {} };
  } catch { /* absent */ }
  if (socket) throw new Error(`containerd socket ${socket} does not exist`);
  const sup = await ContainerdSupervisor.start({ dataDir: join(dataDir, "containerd") });
  logger("worker").info("started Warren's own containerd", { socket: sup.socket });
  return { socket: sup.socket, stop: () => sup.stop() };
}

/** Joins (when `join` is given) and runs the worker until SIGINT/SIGTERM. */
export async function runJoinedWorker(o: JoinedWorkerOptions): Promise<void> {
  const dataDir = o.flags.dataDir;
  let managers = o.managers;
  if (o.join) {
    const r = o.join.response;
    await writeTlsFiles(dataDir, {
      caPem: r.caCertificatePem,
      certPem: r.certificatePem,
      keyPem: o.join.keyPem,
    });
    await writeIdentity(dataDir, {
      nodeId: r.nodeId,
      clusterId: r.cluster.id,
      role: "worker",
      subnet: r.subnet,
      clusterCidr: r.cluster.cidrs.clusterCidr,
    });
    managers = [...new Set([...managers, ...r.managers.map((m) => m.apiAddress)])];
  }
  // A resumed worker also tries the managers it learned last time (managers.json): the one
  // on its command line may be down or no longer lead, and a follower refuses sessions.
  if (!o.join) managers = [...new Set([...managers, ...(await knownManagers(dataDir))])];
  const tls = new TlsIdentity(await readTlsFiles(dataDir));
  const identity = await readIdentity(dataDir);
  if (!identity?.subnet || !identity.clusterCidr) {
    throw new FailedPreconditionError(`${dataDir} has no task subnet: join the cluster again`);
  }
  const containerd = await containerdFor(dataDir, o.flags.containerdSocket);
  const log = logger("worker");
  let networking: NodeNetworking | undefined;
  let drain = o.flags.drainOnExit ?? false;
  let leaving = false;
  let notMember: WarrenError | undefined;
  try {
    networking = await startNodeNetworking({
      nodeId: identity.nodeId,
      dataDir,
      subnet: identity.subnet,
      clusterCidr: identity.clusterCidr,
      advertiseAddr: advertiseAddress(o.flags.advertiseAddr, "0.0.0.0:0"),
    });
    const w = await startWorker({
      networking,
      dataDir,
      managers,
      ...(o.flags.advertiseAddr ? { advertiseAddr: o.flags.advertiseAddr } : {}),
      containerdSocket: containerd.socket,
      ...(o.flags.metricsAddr ? { metricsAddr: o.flags.metricsAddr } : {}),
      insecureRegistries: o.flags.insecureRegistry ?? [],
      credentials: channelCredentials(tls),
      channelOptions: channelOptionsFor(MANAGER_SERVER_NAME),
      onManagers: (list) => {
        managers = [...list];
        recordManagers(dataDir, list).catch((err) =>
          log.warn("cannot record the manager addresses", { err })
        );
      },
    });
    const stopRenewal = startRenewal({
      identity: tls,
      renew: () => renewThroughManagers(tls, managers),
      persist: (m) => writeTlsFiles(dataDir, m),
      onRenewed: (notAfter) =>
        log.info("renewed this worker's certificate", { notAfter: notAfter.toISOString() }),
      onError: (err) => log.warn("certificate renewal failed; retrying", { err }),
    });
    log.info("worker started", { node: w.node.worker.nodeId, managers });
    const removePid = await writePidFile(dataDir, { managers });
    await waitForShutdown(async () => {
      // A node that left its cluster (or that the cluster removed) stops its tasks: no manager
      // will hand them back. It removes their containers too, before its own containerd stops
      // below: a stopped task's shim, log driver and rootfs mount stay until the task is deleted.
      if (w.node.agent.notMember || await leaveRequested(dataDir)) drain = leaving = true;
      await removePid();
      stopRenewal();
      await w.stop({ drain, remove: leaving });
    }, { until: w.node.notMember });
    notMember = w.node.agent.notMember;
  } finally {
    // Containers stay up unless drained: keep their networks so the next start re-adopts them.
    await networking?.close({ keepTasks: !drain });
    await containerd.stop();
  }
  if (notMember) {
    // As `cluster leave` does: the bridge, WireGuard interface and firewall chains go too.
    const { cleanupNodeNetworking } = await import("../../worker/network_hooks.ts");
    await cleanupNodeNetworking({ nodeId: identity.nodeId, dataDir });
    await forgetMembership(dataDir);
    throw new NodeRemovedError({ ...identity, dataDir }, { cause: notMember });
  }
}

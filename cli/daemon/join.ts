/**
 * `warren join MANAGER_ADDR --token T` (also `cluster join` and `manager join`): joins a cluster
 * with the role the token grants and runs that role in the foreground. A manager also gets CLI
 * credentials. Re-running on a data directory that already joined resumes it; with `--token`, a
 * worker the managers no longer know (it left or was removed) starts over with the token.
 * @module
 */
import { Command } from "commander";
import type * as WorkerJoin from "./worker_join.ts";
import { readIdentity } from "../../manager/identity.ts";
import { hostName, hostPlatform, hostResources } from "../../manager/host_info.ts";
import { caDigest, parseToken } from "../../manager/security/mod.ts";
import { readTlsFiles } from "../../manager/tls_files.ts";
import { logger } from "../../proto/log.ts";
import { NodeRemovedError } from "./membership.ts";
import { VERSION } from "../../proto/version.ts";
import { BINARY_FEATURE_LEVEL } from "../../manager/state/fsm_feature_level.ts";
import { ValidationError, type WarrenError } from "../../proto/errors.ts";
import {
  addDaemonFlags,
  addWorkerFlags,
  advertiseAddress,
  applyLogFlags,
  type DaemonFlags,
  type WorkerFlags,
} from "./options.ts";
import { joinViaManager } from "./join_flow.ts";
import { runStops } from "./shutdown.ts";
import { runManagerToEnd } from "./manager_lifetime.ts";
import { managersToRecord, writePidFile } from "./pid_file.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import { writeAdminConfig } from "./admin_config.ts";
import { keepManagerConfig } from "./config_managers.ts";
import { managerBanner } from "./manager_banner.ts";

/** The worker side, loaded only by a daemon that runs one (see worker_start.ts). */
async function runJoinedWorker(o: Parameters<typeof WorkerJoin.runJoinedWorker>[0]) {
  const { runJoinedWorker } = await import("./worker_join.ts");
  return await runJoinedWorker(o);
}

/** Flags of `join` (and of `worker start` when it joins). */
export type JoinFlags = DaemonFlags & WorkerFlags & {
  token?: string;
  label: string[];
  managerOnly?: boolean;
};

/** Adds `--token` and `--label`, as `join` takes them, to `cmd`. */
export function addJoinFlags<C extends Command>(cmd: C, tokenHelp: string): C {
  cmd
    .option("--token <token>", tokenHelp)
    .option(
      "--label <k=v>",
      "node label (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    );
  return cmd;
}

/** The join command under `name` (`join`, or `join` inside `cluster`/`manager`). */
export function joinCommand(name = "join"): Command {
  const cmd = new Command(name)
    .description("join a cluster through MANAGER_ADDR (host:port) with a join token, and run")
    .argument("<manager>", "API address of any manager, host:port");
  addJoinFlags(cmd, "join token from 'warren cluster join-token worker|manager'");
  cmd.option("--manager-only", "with a manager token: do not run a worker on this node");
  addDaemonFlags(cmd);
  addWorkerFlags(cmd);
  cmd.action((managerAddr: string, o: JoinFlags) => joinAndRun([managerAddr], o));
  return cmd;
}

/**
 * Joins through the first of `managers` with `o.token` and runs the role the token grants;
 * a data directory that already joined resumes its role instead. `workerOnly` refuses a manager
 * token (for `worker start`).
 */
export async function joinAndRun(
  managers: string[],
  o: JoinFlags,
  opts: { workerOnly?: boolean } = {},
): Promise<void> {
  applyLogFlags(o);
  // Before anything reads or writes the data directory: one daemon per node.
  using _dataDir = await lockDataDir(o.dataDir);
  const managerAddr = managers[0];
  const advertise = advertiseAddress(o.advertiseAddr, o.apiAddr);
  const existing = await readIdentity(o.dataDir);
  if (existing?.role === "manager" && !opts.workerOnly) {
    // A restart; a token given along must be of this node's cluster (not silently ignored).
    if (o.token) await checkSameCluster(o.dataDir, o.token);
    return await runManager(o, advertise, undefined);
  }
  if (existing?.role === "manager") {
    throw new ValidationError(
      "--data-dir",
      `${o.dataDir} holds a manager: run it with 'warren join' or 'warren cluster init'`,
    );
  }
  const tokenRole = o.token ? parseToken(o.token).role : undefined;
  if (o.managerOnly && (existing?.role === "worker" || (!existing && tokenRole === "worker"))) {
    throw new ValidationError(
      "--manager-only",
      "applies to managers only: this node joins as a worker (use a manager token to join as a manager)",
    );
  }
  if (existing?.role === "worker") {
    if (o.token) await checkSameCluster(o.dataDir, o.token);
    try {
      return await runJoinedWorker({ flags: o, managers, join: undefined });
    } catch (err) {
      if (!(err instanceof NodeRemovedError) || !o.token) throw err;
      logger("join").warn(
        "this data directory's node is no longer a member of the cluster: joining afresh with --token",
        { node: existing.nodeId, dataDir: o.dataDir },
      );
    }
  }
  if (!o.token || !tokenRole) {
    throw new ValidationError(
      "--token",
      "is required to join (get one with 'warren cluster join-token worker')",
    );
  }
  const role = tokenRole;
  if (role === "manager" && opts.workerOnly) {
    throw new ValidationError(
      "--token",
      "is a manager token: 'worker start' joins with a worker token; a manager joins with 'warren join' or 'warren manager join'",
    );
  }
  if (!managerAddr) {
    throw new ValidationError("MANAGER_ADDR", "a manager address is required to join");
  }
  const labels = Object.fromEntries(o.label.map((kv) => {
    const i = kv.indexOf("=");
    if (i <= 0) throw new ValidationError("--label", `"${kv}" must be key=value`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const port = (addr: string) => addr.slice(addr.lastIndexOf(":") + 1);
  const joined = await joinViaManager(managerAddr, o.token, {
    hostname: hostName(),
    addresses: {
      advertise,
      ...(role === "manager"
        ? { api: `${advertise}:${port(o.apiAddr)}`, raft: `${advertise}:${port(o.raftAddr)}` }
        : {}),
    },
    resources: hostResources(),
    platform: hostPlatform(),
    labels,
    version: VERSION,
    // A manager below the cluster's feature level is refused (it would misread the log).
    featureLevel: BINARY_FEATURE_LEVEL,
  });
  if (role === "manager") return await runManager(o, advertise, joined);
  await runJoinedWorker({ flags: o, managers, join: joined });
}

/**
 * Refuses a token of another cluster than the one the data directory's node belongs to (as
 * `docker swarm join` refuses on a node that is part of a swarm): leave that one first.
 */
async function checkSameCluster(dataDir: string, token: string): Promise<void> {
  const { caPem } = await readTlsFiles(dataDir);
  if (await caDigest(caPem) === parseToken(token).caDigest) return;
  throw new ValidationError(
    "--token",
    `is for another cluster than the one ${dataDir} belongs to: leave that first with 'warren cluster leave --data-dir ${dataDir}' (or use another --data-dir)`,
  );
}

async function runManager(
  o: JoinFlags,
  advertise: string,
  joined: Awaited<ReturnType<typeof joinViaManager>> | undefined,
): Promise<void> {
  // Loaded here, not at the top: a worker-only process never needs the manager's code
  // (Raft, API, HTTP): ~10 MiB of RSS.
  const { Manager } = await import("../../manager/manager.ts");
  const mgr = await Manager.start({
    dataDir: o.dataDir,
    apiAddr: o.apiAddr,
    raftAddr: o.raftAddr,
    httpAddr: o.httpAddr,
    advertiseAddr: advertise,
    ...(joined ? { join: joined } : {}),
  });
  let configPath: string | undefined;
  if (joined) {
    const admin = await mgr.issueAdminCertificate("admin").catch(() => undefined);
    if (admin) {
      configPath = await writeAdminConfig({
        clusterId: mgr.identity.clusterId,
        managers: [mgr.apiAddress, ...joined.response.managers.map((m) => m.apiAddress)],
        ...admin,
      });
    }
  }
  // The CLI config follows the cluster's managers as they join and leave (config_managers.ts).
  const stopConfigSync = keepManagerConfig(configPath, mgr);
  const stops: (() => Promise<void>)[] = [
    () => mgr.stop(),
    await writePidFile(o.dataDir, {
      managers: managersToRecord(mgr, joined?.response.managers.map((m) => m.apiAddress) ?? []),
    }),
  ];
  stops.unshift(() => Promise.resolve(stopConfigSync()));
  // As `cluster init`: tasks stop with the daemon when asked or when the node left (and then
  // their containers go too, before this node's containerd stops).
  let how = { drain: o.drainOnExit ?? false, remove: false };
  let workerNotMember: Promise<WarrenError> | undefined;
  if (!o.managerOnly) {
    try {
      const { startColocatedWorker } = await import("./colocated_worker.ts");
      const w = await startColocatedWorker(mgr, o);
      stops.unshift(() => w.stop(how));
      workerNotMember = w.notMember;
    } catch (err) {
      await runStops(stops);
      // A step above failed because the manager cannot apply the log: say why.
      throw mgr.failure ?? err;
    }
  }
  // A manager restarted under autolock runs locked until `cluster unlock`: say so here too.
  const banner = managerBanner({
    nodeId: mgr.identity.nodeId,
    clusterId: mgr.identity.clusterId,
    apiAddress: mgr.apiAddress,
    managerOnly: o.managerOnly ?? false,
    locked: (await mgr.ctx.localKek?.locked().catch(() => false)) ?? false,
  });
  for (const line of banner) console.log(line);
  await runManagerToEnd({
    mgr,
    dataDir: o.dataDir,
    ...(workerNotMember ? { workerNotMember } : {}),
    stops,
    leaving: () => how = { drain: true, remove: true },
  });
}

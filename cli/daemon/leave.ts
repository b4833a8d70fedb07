/**
 * `warren cluster leave [--force]` on a node: asks the managers to remove this node (a manager
 * leaves Raft first), stops the node's daemon and its tasks, and removes everything Warren set
 * up on the host (task namespaces, bridge, WireGuard interface, firewall chains). The node authenticates with
 * its own certificate, so a worker needs no admin credentials. The node then forgets its
 * membership (membership.ts; a manager its Raft log too), so the next `warren join --token`
 * joins afresh. A node the managers
 * no longer know (removed with `node rm`) is cleaned up the same way: it is not a member either.
 * @module
 */
import { Command } from "commander";
import type { ServiceError } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import { ClusterServiceClient } from "../../proto/gen/warren.ts";
import { FailedPreconditionError, UnavailableError, WarrenError } from "../../proto/errors.ts";
import { readIdentity } from "../../manager/identity.ts";
import { readTlsFiles } from "../../manager/tls_files.ts";
import { channelCredentials, channelOptionsFor, MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { fromGrpcError } from "../../net/grpc/status.ts";
import { defaultDataDir } from "./options.ts";
import { knownManagers, requestLeave, runningDaemon } from "./pid_file.ts";
import { forgetMembership } from "./membership.ts";
import {
  defaultConfigPath,
  managersFromEnv,
  parseManagerList,
  processEnv,
  readCliConfig,
} from "../config.ts";

/**
 * The managers `cluster leave` asks, in order: `--manager`, else `WARREN_MANAGER`, else those
 * the node's daemon recorded in its data directory (a manager's own API first), then those of
 * the CLI config when it is the same cluster's.
 */
export async function leaveManagers(o: {
  flag?: string;
  dataDir: string;
  clusterId: string;
  env?: (name: string) => string | undefined;
}): Promise<string[]> {
  const env = o.env ?? processEnv;
  const flag = parseManagerList(o.flag !== undefined ? [o.flag] : []);
  if (flag.length > 0) return flag;
  const fromEnv = managersFromEnv(env);
  if (fromEnv.length > 0) return fromEnv;
  const config = await readCliConfig(defaultConfigPath(env)).catch(() => undefined);
  const fromConfig = config?.clusterId === o.clusterId ? config.managers : [];
  return [...new Set([...await knownManagers(o.dataDir), ...fromConfig])];
}

/**
 * Asks `managers` in turn with `leave` until one lets the node go, retrying briefly (an election
 * or a lost connection is not a refusal) but stopping at the first definitive answer from any
 * of them: a node the cluster removed (`not_found`) may still list its own frozen manager among
 * them, whose "no quorum" must not hide what the real managers said.
 */
export async function askManagers(
  managers: readonly string[],
  leave: (addr: string) => Promise<void>,
  o: { attempts?: number; pauseMs?: number } = {},
): Promise<{ done: boolean; lastErr: unknown }> {
  const attempts = o.attempts ?? 10;
  let lastErr: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, o.pauseMs ?? 500));
    for (const addr of managers) {
      try {
        await leave(addr);
        return { done: true, lastErr: undefined };
      } catch (err) {
        lastErr = err;
        if (err instanceof WarrenError && !err.retryable) return { done: false, lastErr };
      }
    }
  }
  return { done: false, lastErr };
}

/** The `leave` subcommand of `cluster`. */
export function leaveCommand(): Command {
  return new Command("leave")
    .description("remove this node from its cluster, stop its daemon and clean up the host")
    .option("--data-dir <dir>", "the node's data directory", defaultDataDir())
    .option(
      "--manager <host:port>",
      "a manager to ask (default: WARREN_MANAGER, else the managers this node's daemon knows, its own API for a manager, else the CLI config's)",
    )
    .option("--force", "leave even if it costs the managers their quorum")
    .action(async (o: { dataDir: string; manager?: string; force?: boolean }) => {
      const id = await readIdentity(o.dataDir);
      if (!id) throw new FailedPreconditionError(`${o.dataDir} holds no Warren node`);
      const tls = await readTlsFiles(o.dataDir);
      const managers = await leaveManagers({
        ...(o.manager !== undefined ? { flag: o.manager } : {}),
        dataDir: o.dataDir,
        clusterId: id.clusterId,
      });
      if (managers.length === 0) {
        throw new FailedPreconditionError(
          `no manager known for ${o.dataDir}: pass --manager HOST:PORT (or set WARREN_MANAGER): which manager should let this node go?`,
        );
      }
      // Asked before the managers are: the daemon may hear that its node is no longer a member
      // (its worker's session, a manager refusing its Raft connection) before this command
      // signals it, and must take that for the leave it is, not a removal to report.
      const pid = await runningDaemon(o.dataDir);
      const withdraw = pid !== undefined ? await requestLeave(o.dataDir) : undefined;
      let unknown: boolean;
      try {
        const { done, lastErr } = await askManagers(managers, (addr) => {
          const client = new ClusterServiceClient(
            addr,
            channelCredentials(tls),
            channelOptionsFor(MANAGER_SERVER_NAME),
          );
          return new Promise<void>((resolve, reject) =>
            client.leave(
              codecs.LeaveRequest.toWire({ nodeId: id.nodeId, force: o.force ?? false }),
              (err: ServiceError | null) => err ? reject(fromGrpcError(err)) : resolve(),
            )
          ).finally(() => client.close());
        });
        // The managers do not know this node (it was removed): nothing to leave, but the host
        // still holds its tasks and network, which the steps below clean up.
        unknown = !done && lastErr instanceof WarrenError && lastErr.code === "not_found";
        if (!done && !unknown) throw lastErr ?? new UnavailableError("no manager answered");
        if (pid !== undefined) {
          // The daemon stops its tasks on the way out (as 'docker swarm leave' does): nothing
          // would adopt them again, and their networks are about to go.
          try {
            Deno.kill(pid, "SIGTERM");
          } catch (err) {
            // It stopped by itself meanwhile (told it is no longer a member).
            if (!(err instanceof Deno.errors.NotFound)) throw err;
          }
          // Stopping tasks takes their grace periods: wait up to a few minutes.
          // Watch the process, not its PID file: a worker removes that before it drains.
          for (let i = 0; i < 1800 && await processAlive(pid); i++) {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await withdraw?.();
      }
      const stillRunning = pid !== undefined && await processAlive(pid);
      // Loaded here: this module is part of every daemon's program (daemon/program.ts), and a
      // manager must not carry the node networking stack for a command it never runs.
      const { cleanupNodeNetworking } = await import("../../worker/network_hooks.ts");
      await cleanupNodeNetworking({ nodeId: id.nodeId, dataDir: o.dataDir });
      // A manager forgets its Raft log too: resumed on it, it would run outside the cluster.
      // Never under a daemon that still has the files open.
      if (stillRunning) {
        throw new FailedPreconditionError(
          `node ${id.nodeId} left cluster ${id.clusterId}, but its daemon (PID ${pid}) did not stop: stop it, then run 'warren cluster leave --data-dir ${o.dataDir}' again to clean up this host`,
        );
      }
      await forgetMembership(o.dataDir);
      console.log(
        unknown
          ? `node ${id.nodeId} was no longer a member of cluster ${id.clusterId} (removed): cleaned up this host`
          : `node ${id.nodeId} left cluster ${id.clusterId}`,
      );
    });
}

/** Whether `pid` still runs (a zombie waiting for its parent has finished). */
async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

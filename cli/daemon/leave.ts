/**
 * `warren cluster leave [--force]` on a node: asks the managers to remove this node (a manager
 * leaves Raft first), stops the node's daemon, and removes everything Warren set up on the host
 * (task namespaces, bridge, WireGuard interface, firewall chains). The node authenticates with
 * its own certificate, so a worker needs no admin credentials.
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
import { runningDaemon } from "./pid_file.ts";

/** The `leave` subcommand of `cluster`. */
export function leaveCommand(): Command {
  return new Command("leave")
    .description("remove this node from its cluster, stop its daemon and clean up the host")
    .option("--data-dir <dir>", "the node's data directory", defaultDataDir())
    .option(
      "--manager <host:port>",
      "a manager to ask (default: this node's own API for a manager, WARREN_MANAGER)",
    )
    .option("--force", "leave even if it costs the managers their quorum")
    .action(async (o: { dataDir: string; manager?: string; force?: boolean }) => {
      const id = await readIdentity(o.dataDir);
      if (!id) throw new FailedPreconditionError(`${o.dataDir} holds no Warren node`);
      const tls = await readTlsFiles(o.dataDir);
      const managers = [o.manager, Deno.env.get("WARREN_MANAGER")].filter((m): m is string => !!m);
      if (managers.length === 0) {
        throw new FailedPreconditionError(
          "pass --manager HOST:PORT (or set WARREN_MANAGER): which manager should let this node go?",
        );
      }
      let lastErr: unknown;
      let done = false;
      // Retry briefly: an election or a lost connection is not a refusal.
      for (let attempt = 0; attempt < 10 && !done; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
        for (const addr of managers) {
          const client = new ClusterServiceClient(
            addr,
            channelCredentials(tls),
            channelOptionsFor(MANAGER_SERVER_NAME),
          );
          try {
            await new Promise<void>((resolve, reject) =>
              client.leave(
                codecs.LeaveRequest.toWire({ nodeId: id.nodeId, force: o.force ?? false }),
                (err: ServiceError | null) => err ? reject(fromGrpcError(err)) : resolve(),
              )
            );
            done = true;
            break;
          } catch (err) {
            lastErr = err;
          } finally {
            client.close();
          }
        }
        if (lastErr instanceof WarrenError && !lastErr.retryable) break;
      }
      if (!done) throw lastErr ?? new UnavailableError("no manager answered");
      const pid = await runningDaemon(o.dataDir);
      if (pid !== undefined) {
        Deno.kill(pid, "SIGTERM");
        for (let i = 0; i < 300 && await runningDaemon(o.dataDir) !== undefined; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // Loaded here: this module is part of every daemon's program (daemon/program.ts), and a
      // manager must not carry the node networking stack for a command it never runs.
      const { cleanupNodeNetworking } = await import("../../worker/network_hooks.ts");
      await cleanupNodeNetworking({ nodeId: id.nodeId, dataDir: o.dataDir });
      console.log(`node ${id.nodeId} left cluster ${id.clusterId}`);
    });
}

/**
 * Warren processes on network-namespace hosts for the e2e tests: `warren cluster init` on the
 * first host, `warren join` on the others, each with its own data dir and the containerd Warren
 * starts and supervises itself (under the data dir: the machine has no containerd at the default
 * socket), the CLI run from the test process with the admin config the init wrote.
 * @module
 */
import { join } from "node:path";
import type { NetnsCluster, NetnsHost } from "../fixtures/netns.ts";
import { DEFAULT_CONTAINERD_SOCKET } from "../../cli/daemon/worker_start.ts";
import { sweepWarrenLeftovers } from "./_warren_sweep.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** One running Warren daemon on a host. */
export interface WarrenNode {
  host: NetnsHost;
  /** The node's ID (from the daemon's "node network up" log line; "" if it printed none). */
  nodeId: string;
  dataDir: string;
  child: Deno.ChildProcess;
  /** The daemon's stdout and stderr so far. */
  log: string[];
}

/** A cluster of Warren daemons; `await using` stops them and removes their data. */
export interface WarrenCluster extends AsyncDisposable {
  nodes: WarrenNode[];
  /** Environment for CLI calls (WARREN_CONFIG). */
  env: Record<string, string>;
  /** Runs `warren ARGS...` from the test process. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Like cli, but throws on a non-zero exit; returns stdout. */
  mustCli(args: string[]): Promise<string>;
  /** Starts `warren ARGS...` without waiting (stdout and stderr piped), e.g. a long exec. */
  spawnCli(args: string[]): Deno.ChildProcess;
  /** Stops one daemon with SIGTERM (then SIGKILL after 15 s); resolves with its exit code. */
  stopNode(node: WarrenNode): Promise<number>;
  /**
   * Starts a stopped (or killed) node's daemon again on its data directory, as an operator
   * re-runs the same command: `cluster init` on the first host, `join` without a token on the
   * others (both resume). Replaces `node` in {@link nodes}; resolves once it is running.
   */
  restartNode(node: WarrenNode): Promise<WarrenNode>;
  stop(): Promise<void>;
}

function pump(child: Deno.ChildProcess, log: string[]): void {
  for (const s of [child.stdout, child.stderr]) {
    (async () => {
      for await (const chunk of s) log.push(decoder.decode(chunk));
    })().catch(() => {});
  }
}

async function waitForLog(n: WarrenNode, marker: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: Deno.CommandStatus | undefined;
  n.child.status.then((s) => (exited = s));
  while (Date.now() < deadline) {
    if (marker.test(n.log.join(""))) return;
    if (exited) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${n.host.name}: no ${marker} within ${timeoutMs} ms${
      exited ? ` (exited ${exited.code})` : ""
    }\n${n.log.join("").slice(-4000)}`,
  );
}

/** Options of {@link startWarrenCluster}. */
export interface WarrenClusterOptions {
  /** Indexes of the hosts (not 0) that join with a manager token; the others join as workers. */
  managers?: number[];
}

/**
 * Starts `cluster init` on hosts[0] and joins every other host, as a worker or (those in
 * `opts.managers`) as a manager that also runs tasks.
 */
export async function startWarrenCluster(
  netns: NetnsCluster,
  opts: WarrenClusterOptions = {},
): Promise<WarrenCluster> {
  if (await isSocket(DEFAULT_CONTAINERD_SOCKET)) {
    // Every node would share it (one filesystem): tasks of three "hosts" in one containerd.
    throw new Error(
      `${DEFAULT_CONTAINERD_SOCKET} exists: the e2e hosts need their own containerd each`,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "warren-e2e-" });
  const env = { WARREN_CONFIG: join(root, "cli-config.json") };
  const nodes: WarrenNode[] = [];
  const cli = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  };
  const spawnCli = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const mustCli = async (args: string[]) => {
    const r = await cli(args);
    if (r.code !== 0) throw new Error(`warren ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  const stopNode = async (n: WarrenNode) => {
    try {
      n.child.kill("SIGTERM");
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        n.child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 15_000);
    const s = await n.child.status;
    clearTimeout(timer);
    return s.code;
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      for (const n of [...nodes].reverse()) await stopNode(n);
      await sweepWarrenLeftovers({ rootDir: root, nodeIds: nodes.map((n) => n.nodeId) });
      await Deno.remove(root, { recursive: true }).catch(() => {});
    })();
  const start = async (host: NetnsHost, args: string[], marker: RegExp) => {
    const dataDir = join(root, host.name);
    // nsenter, not `ip netns exec` (host.spawn): that one runs the command in a new mount
    // namespace with a fresh /sys, which hides /sys/fs/cgroup, and runc then cannot create any
    // container ("no cgroup mount found in mountinfo"). nsenter only switches the network
    // namespace (the netns fixture's teardown still kills whatever runs inside it).
    const child = new Deno.Command("nsenter", {
      args: [
        `--net=/run/netns/${host.name}`,
        "--",
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        MAIN,
        ...args,
        "--data-dir",
        dataDir,
        "--advertise-addr",
        host.address,
      ],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const n: WarrenNode = { host, nodeId: "", dataDir, child, log: [] };
    const at = nodes.findIndex((o) => o.host === host);
    if (at >= 0) nodes[at] = n;
    else nodes.push(n);
    pump(child, n.log);
    await waitForLog(n, marker, 60_000);
    n.nodeId = /node network up node=(\S+)/.exec(n.log.join(""))?.[1] ?? "";
    return n;
  };
  const [first, ...rest] = netns.hosts;
  const restartNode = async (n: WarrenNode) => {
    const [args, marker] = n.host === first
      ? [["cluster", "init"], /cluster \S+ running/]
      : [["join", `${first!.address}:4240`], /manager \S+ of cluster|worker started/];
    const again = await start(n.host, args, marker);
    again.nodeId ||= n.nodeId; // in case its "node network up" line came after the marker
    return again;
  };
  try {
    await start(first!, ["cluster", "init"], /cluster \S+ running/);
    const tokens = {
      worker: (await mustCli(["cluster", "join-token", "worker", "-q"])).trim(),
      manager: (await mustCli(["cluster", "join-token", "manager", "-q"])).trim(),
    };
    for (const [i, host] of rest.entries()) {
      const manager = opts.managers?.includes(i + 1) ?? false;
      await start(
        host,
        ["join", `${first!.address}:4240`, "--token", manager ? tokens.manager : tokens.worker],
        manager
          ? /manager \S+ of cluster \S+ running at \S+ \(also running tasks\)/
          : /worker started/,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    env,
    cli,
    mustCli,
    spawnCli,
    stopNode,
    restartNode,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isSocket === true;
  } catch {
    return false;
  }
}

/**
 * Runs a host command inside a task's network namespace, seeing what the task's container sees
 * of the network: its interfaces and routes, and the node's resolver as `/etc/resolv.conf`
 * (bind-mounted in a private mount namespace, as the worker does for containers):
 *
 * ```
 * nsenter --net=/run/netns/wtask-<tag>-<task> -- unshare --mount -- sh -c
 *   'mount --bind <dataDir>/net/resolv.conf /etc/resolv.conf && exec "$@"' - CMD...
 * ```
 *
 * The daemons run under nsenter (no private mount namespace), so their task namespaces are in
 * the machine's /run/netns.
 * @module
 */
import { join } from "node:path";
import { nodeNames } from "../../net/host/names.ts";
import type { WarrenNode } from "./_warren_hosts.ts";

const PROBE = new URL("./_http_probe.ts", import.meta.url).pathname;

/** argv running `cmd` in task `taskId`'s namespace on `node`. */
export function inTaskArgv(node: WarrenNode, taskId: string, cmd: string[]): string[] {
  const ns = `${nodeNames(node.nodeId).netnsPrefix}${taskId}`;
  const resolv = join(node.dataDir, "net", "resolv.conf");
  return [
    "nsenter",
    `--net=/run/netns/${ns}`,
    "--",
    "unshare",
    "--mount",
    "--",
    "sh",
    "-c",
    `mount --bind ${resolv} /etc/resolv.conf && exec "$@"`,
    "-",
    ...cmd,
  ];
}

/** Starts the HTTP probe (_http_probe.ts) in the task's namespace; stdout piped. */
export function spawnProbe(
  node: WarrenNode,
  taskId: string,
  o: { url: string; count: number; intervalMs?: number },
): Deno.ChildProcess {
  const argv = inTaskArgv(node, taskId, [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--quiet",
    PROBE,
    o.url,
    String(o.count),
    String(o.intervalMs ?? 0),
  ]);
  return new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

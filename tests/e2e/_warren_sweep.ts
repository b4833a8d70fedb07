/**
 * Last-resort cleanup after the e2e daemons stopped (or were killed): whatever a failed test
 * left of its Warren nodes on this machine. A daemon stopped cleanly leaves nothing (the tests
 * check that before sweeping); a killed one leaves containers running under their shims, task
 * namespaces and overlay mounts, which this removes:
 *
 * 1. every process inside a task namespace of the nodes (`wtask-<tag>-*`), then the namespace;
 * 2. every process whose command line names the run's directory (containerd, shims);
 * 3. every mount below the run's directory, deepest first.
 *
 * The hosts' own namespaces (bridges, overlay interfaces, rules) go with the netns fixture.
 * @module
 */
import { nodeNames } from "../../net/host/names.ts";

async function run(cmd: string[]): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* exited */ }
  }
}

/** Processes whose command line contains `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (cmdline.replaceAll("\0", " ").includes(text)) out.push(Number(e.name));
    } catch { /* exited */ }
  }
  return out;
}

/** Removes what nodes `nodeIds` with data under `rootDir` left on this machine (see module doc). */
export async function sweepWarrenLeftovers(
  o: { rootDir: string; nodeIds: string[] },
): Promise<void> {
  const prefixes = o.nodeIds.filter((id) => id !== "").map((id) => nodeNames(id).netnsPrefix);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir("/run/netns")) {
      if (prefixes.some((p) => e.name.startsWith(p))) names.push(e.name);
    }
  } catch { /* no /run/netns */ }
  for (const ns of names) {
    const pids = await run(["ip", "netns", "pids", ns]);
    kill(pids.stdout.split("\n").filter((l) => l.trim() !== "").map(Number));
    await run(["ip", "netns", "delete", ns]);
  }
  kill(await processesMentioning(o.rootDir));
  const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m === o.rootDir || m.startsWith(`${o.rootDir}/`))
    .sort()
    .reverse();
  for (const m of mounts) await run(["umount", "-l", m]);
}

/**
 * Named network namespaces (`ip netns add`): a bind mount of the namespace at
 * `/run/netns/<name>` keeps it alive without a process, so the container runtime can join it and
 * CNI plugins can configure it before the container starts.
 *
 * The bind mount lives in the mount namespace of the process that ran `ip netns add`: a Warren
 * started with `ip netns exec` (a netns test host) creates task namespaces that only its own
 * children (its containerd) can see. That is what a node needs; tools outside do not see them.
 * @module
 */
import { runCommand } from "../host/command.ts";

/** Where `ip netns` keeps named namespaces. */
export const NETNS_DIR = "/run/netns";

/** Path of the named namespace `name`. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** Whether the named namespace exists. */
export async function netnsExists(name: string): Promise<boolean> {
  try {
    await Deno.stat(netnsPath(name));
    return true;
  } catch {
    return false;
  }
}

/** Creates the named namespace (`lo` is left down: the loopback plugin brings it up). */
export async function createNetns(name: string): Promise<string> {
  await runCommand(["ip", "netns", "add", name]);
  return netnsPath(name);
}

/** Deletes the named namespace and every interface in it; no error when it is gone. */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  await runCommand(["ip", "netns", "delete", name]);
}

/** Names of the named namespaces starting with `prefix`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(NETNS_DIR)) {
      if (e.name.startsWith(prefix)) out.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/**
 * Host-mode published ports (`--publish mode=host,published=8080,target=80`): bound only on the
 * nodes that run a task of the service, by the CNI portmap plugin at the task's ADD (DNAT from
 * `<any local address>:8080` to `<task ip>:80`, which keeps the client's source address).
 *
 * portmap's DEL removes its per-task chain but leaves its shared top-level chains
 * (`CNI-HOSTPORT-DNAT`, `-SETMARK`, `-MASQ`) and their jumps; {@link removeEmptyPortmapChains}
 * removes them once no task on the host uses them any more (node cleanup).
 * @module
 */
import type { Port } from "../../proto/schema/ports.ts";
import type { PortMapping } from "../cni/conflist.ts";
import { runCommand } from "../host/command.ts";
import { deleteChain } from "../host/iptables.ts";

/** The portmap mappings of a task: its ports published in host mode. */
export function hostPortMappings(ports: readonly Port[]): PortMapping[] {
  return ports
    .filter((p) => p.published !== undefined && p.publishMode === "host")
    .map((p) => ({ hostPort: p.published!, containerPort: p.target, protocol: p.protocol }));
}

/** portmap's shared nat chains, in the order they can be deleted. */
export const PORTMAP_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"];

/**
 * Deletes portmap's shared chains and their jumps when `CNI-HOSTPORT-DNAT` holds no rule (no
 * task with a host port is left on this host). @returns whether they were removed
 */
export async function removeEmptyPortmapChains(): Promise<boolean> {
  const dnat = await runCommand(["iptables", "-w", "5", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT"], {
    check: false,
  });
  if (dnat.code !== 0) return false;
  if (dnat.stdout.split("\n").some((l) => l.startsWith("-A "))) return false;
  const all = (await runCommand(["iptables", "-w", "5", "-t", "nat", "-S"])).stdout.split("\n");
  for (const rule of jumpsToPortmap(all)) {
    await runCommand(["iptables", "-w", "5", "-t", "nat", ...rule], { check: false });
  }
  for (const chain of PORTMAP_CHAINS) await deleteChain("nat", chain);
  return true;
}

/**
 * The `-D` commands removing every rule of a built-in chain that jumps to a portmap chain,
 * from `iptables -S` lines (pure).
 */
export function jumpsToPortmap(saveLines: string[]): string[][] {
  const out: string[][] = [];
  for (const line of saveLines) {
    const m = /^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT) (.*)$/.exec(line);
    if (!m || !/-j CNI-HOSTPORT-/.test(m[2]!)) continue;
    out.push(["-D", m[1]!, ...splitRule(m[2]!)]);
  }
  return out;
}

/** Splits an `iptables -S` rule into arguments, honouring double quotes (comments). */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of rule.matchAll(re)) out.push(m[1] !== undefined ? m[1] : m[2]!);
  return out;
}

/**
 * Keeps a node's task traffic flowing on hosts whose FORWARD policy is DROP (Docker hosts, with
 * `bridge-nf-call-iptables=1` even traffic between two tasks on the same bridge is filtered):
 * Warren's own chain accepts traffic in and out of the node's bridge and to or from the cluster
 * CIDR (other nodes' tasks, through the overlay), jumped to from the first rule of FORWARD.
 *
 * With the nft backend the same rules live in a base chain of Warren's own table; note that an
 * `accept` there cannot override a `drop` in another table's base chain (nftables semantics).
 * @module
 */
import { runCommand } from "../host/command.ts";
import type { FirewallBackend } from "../host/firewall_backend.ts";
import { deleteChain, ensureJump, iptablesRestore, removeJump } from "../host/iptables.ts";

/** What the forward rules accept. */
export interface ForwardChainOptions {
  /** iptables chain name (`WARREN-FORWARD-<tag>`). */
  chain: string;
  /** nftables table name, for the nft backend. */
  nftTable: string;
  bridge: string;
  /** Cluster CIDR (all nodes' task subnets); the node's subnet when unknown. */
  clusterCidr: string;
}

/** The chain as an iptables-restore batch (pure). */
export function forwardRestoreText(o: ForwardChainOptions): string {
  const c = o.chain;
  return [
    "*filter",
    `:${c} - [0:0]`,
    `-A ${c} -i ${o.bridge} -j ACCEPT`,
    `-A ${c} -o ${o.bridge} -j ACCEPT`,
    `-A ${c} -s ${o.clusterCidr} -j ACCEPT`,
    `-A ${c} -d ${o.clusterCidr} -j ACCEPT`,
    "COMMIT",
    "",
  ].join("\n");
}

/** The table as an `nft -f` script that replaces any previous version atomically (pure). */
export function forwardNftScript(o: ForwardChainOptions): string {
  return [
    `table ip ${o.nftTable} {}`,
    `delete table ip ${o.nftTable}`,
    `table ip ${o.nftTable} {`,
    "  chain forward {",
    "    type filter hook forward priority filter - 1; policy accept;",
    `    iifname "${o.bridge}" accept`,
    `    oifname "${o.bridge}" accept`,
    `    ip saddr ${o.clusterCidr} accept`,
    `    ip daddr ${o.clusterCidr} accept`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Creates (or refreshes) the chain and its jump. Idempotent. */
export async function installForwardChain(
  backend: FirewallBackend,
  o: ForwardChainOptions,
): Promise<void> {
  if (backend === "nft") {
    await runCommand(["nft", "-f", "-"], { stdin: forwardNftScript(o) });
    return;
  }
  await iptablesRestore(forwardRestoreText(o));
  await ensureJump("filter", "FORWARD", o.chain);
}

/** Removes the jump and the chain (or the nft table). Idempotent. */
export async function removeForwardChain(
  backend: FirewallBackend,
  o: ForwardChainOptions,
): Promise<void> {
  if (backend === "nft") {
    await runCommand(["nft", "delete", "table", "ip", o.nftTable], { check: false });
    return;
  }
  await removeJump("filter", "FORWARD", o.chain);
  await deleteChain("filter", o.chain);
}

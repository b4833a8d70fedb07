/**
 * Names of everything the data plane creates on a host, derived from the node ID so that several
 * nodes sharing one machine (network-namespace test hosts) never collide, and short enough for
 * the kernel: interface names ≤ 15 characters, iptables chain names ≤ 28.
 *
 * Prefixes are distinct from the netns test fixture's (`wrn…`) so its leftover sweeps never
 * mistake a node's objects for a dead test run.
 * @module
 */
import { createHash } from "node:crypto";

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;
/** Longest iptables chain name. */
export const MAX_CHAIN = 28;

/** 8 hex digits of SHA-256(`s`). */
export function shortHash(s: string, hexDigits = 8): string {
  return createHash("sha256").update(s).digest("hex").slice(0, hexDigits);
}

/** Every host-level name of one node's data plane. */
export interface NodeNames {
  /** 8 hex digits identifying the node on this host. */
  tag: string;
  /** The node's task bridge, `wbr<tag>` (11 characters). */
  bridge: string;
  /** filter chain accepting the node's bridged and cluster traffic (jumped from FORWARD). */
  forwardChain: string;
  /** nat chain of service VIPs (jumped from PREROUTING and OUTPUT). */
  servicesChain: string;
  /** nat chain of ingress published ports (jumped from PREROUTING and OUTPUT). */
  portsChain: string;
  /** nat chain for masquerading (jumped from POSTROUTING). */
  postroutingChain: string;
  /** filter chain refusing VIP ports that have no task (jumped from OUTPUT and FORWARD). */
  rejectChain: string;
  /** Prefix of task network namespace names: `wtask-<tag>-`. */
  netnsPrefix: string;
  /** nftables table names when nft is the backend. */
  nftForwardTable: string;
  nftServicesTable: string;
}

/** The names of node `nodeId`'s data plane objects. */
export function nodeNames(nodeId: string): NodeNames {
  const tag = shortHash(`node:${nodeId}`);
  return {
    tag,
    bridge: `wbr${tag}`,
    forwardChain: `WARREN-FORWARD-${tag}`,
    servicesChain: `WARREN-SERVICES-${tag}`,
    portsChain: `WARREN-PORTS-${tag}`,
    postroutingChain: `WARREN-POSTRT-${tag}`,
    rejectChain: `WARREN-NOEP-${tag}`,
    netnsPrefix: `wtask-${tag}-`,
    nftForwardTable: `warren_fwd_${tag}`,
    nftServicesTable: `warren_svc_${tag}`,
  };
}

/** Chain of one service port (`WSVC-<tag>-<10 hex>`), stable for the same service and port. */
export function serviceChain(tag: string, key: string): string {
  return `WSVC-${tag}-${shortHash(key, 10)}`;
}

/** Chain of one endpoint of a service port (`WSEP-<tag>-<10 hex>`). */
export function endpointChain(tag: string, key: string): string {
  return `WSEP-${tag}-${shortHash(key, 10)}`;
}

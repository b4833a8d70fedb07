/**
 * The CNI network of one node, as a pure value: a bridge (named from the node ID) with
 * host-local IPAM over the node's task subnet, then portmap for host-mode published ports.
 * Loopback is a separate invocation on `lo`. {@link chainConfigs} turns the list into the
 * per-plugin configurations of one ADD/DEL, injecting `runtimeConfig` for the capabilities a
 * plugin declares, as a CNI runtime must.
 *
 * Masquerading (`ipMasq`) is off: Warren's own POSTROUTING chain masquerades only traffic that
 * leaves the cluster, so task-to-task traffic across nodes keeps its source IP.
 * @module
 */
import { gatewayOf } from "../host/ipv4.ts";
import { CNI_VERSION, type CniPluginConfig } from "./plugin.ts";

/** A CNI network configuration list. */
export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

/** Inputs of {@link bridgeConflist}. */
export interface BridgeConflistOptions {
  /** Network name (the node's tag is a good one). */
  name: string;
  /** Bridge interface name (≤ 15 characters). */
  bridge: string;
  /** The node's task subnet, e.g. `10.240.3.0/24`. */
  subnet: string;
  /** host-local's lease directory (under the worker's data dir). */
  ipamDataDir: string;
  mtu?: number;
}

/** A host port mapping (portmap's `portMappings` capability). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

/** The node's network configuration list. */
export function bridgeConflist(o: BridgeConflistOptions): CniConflist {
  return {
    cniVersion: CNI_VERSION,
    name: o.name,
    plugins: [
      {
        type: "bridge",
        bridge: o.bridge,
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: false,
        // A task reaching its own service VIP gets DNATed back out of the port it came from.
        hairpinMode: true,
        ...(o.mtu ? { mtu: o.mtu } : {}),
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: o.subnet, gateway: gatewayOf(o.subnet) }]],
          dataDir: o.ipamDataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** The loopback plugin's configuration (brings `lo` up in the task's namespace). */
export function loopbackConfig(): CniPluginConfig {
  return { cniVersion: CNI_VERSION, name: "lo", type: "loopback" };
}

/**
 * The configurations to run for one task, in ADD order: each plugin gets the list's name and
 * version and `runtimeConfig` for its declared capabilities. Plugins whose only job is a
 * capability the task does not use (portmap without mappings) are left out, so a task with no
 * host ports creates no portmap chains.
 */
export function chainConfigs(
  list: CniConflist,
  runtime: { portMappings?: PortMapping[] } = {},
): CniPluginConfig[] {
  const out: CniPluginConfig[] = [];
  for (const p of list.plugins) {
    const caps = (p.capabilities ?? {}) as Record<string, boolean>;
    const { capabilities: _caps, ...rest } = p;
    const cfg: CniPluginConfig = { ...rest, name: list.name, cniVersion: list.cniVersion };
    if (caps.portMappings) {
      if (!runtime.portMappings?.length) continue;
      cfg.runtimeConfig = { portMappings: runtime.portMappings };
    }
    out.push(cfg);
  }
  return out;
}

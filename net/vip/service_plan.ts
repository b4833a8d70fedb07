/**
 * What the service endpoints mean for one node's packet filter, as a pure value, sorted so the
 * same endpoints always give the same plan (and the same rules, which keeps the diff-based apply
 * minimal):
 *
 * - per VIP service (endpoint mode `vip`), one entry per protocol (tcp, udp) covering **every
 *   port** of the VIP: its backends are task IPs without a port, so the DNAT keeps the packet's
 *   destination port. As in Swarm (IPVS with a firewall mark), `db:5432` reaches the tasks
 *   without `5432` being declared; a declared port needs nothing more, since the port clients use
 *   on the VIP is its target port.
 * - per ingress published target port (routing mesh), one entry with its published ports and
 *   backends task IP : target port.
 *
 * dnsrr services get no entry: clients resolve their task IPs through DNS instead.
 * @module
 */
import type { PortProtocol, ServiceEndpoint } from "../../proto/schema/mod.ts";

/**
 * Packet mark bit: the connection went to a task from that same task through its VIP (hairpin)
 * and must be masqueraded so the reply comes back through the host. Chosen clear of the bits
 * portmap (0x2000) and kube-proxy (0x4000, 0x8000) use.
 */
export const HAIRPIN_MARK = 0x40000;
/** Packet mark bit: the connection came in through an ingress published port. */
export const INGRESS_MARK = 0x80000;

/** A task serving a service port. */
export interface Backend {
  ip: string;
  /** The task's port; absent (VIP entries): the packet's destination port is kept. */
  port?: number;
}

/** One service's VIP (every port of one protocol) or one ingress target port, on this node. */
export interface ServicePortPlan {
  /**
   * Names the entry's chains: `<serviceId>/<protocol>/*` for the VIP entry,
   * `<serviceId>/<protocol>/<target>` for an ingress target port.
   */
  key: string;
  serviceName: string;
  protocol: PortProtocol;
  /** Set on the VIP entry only: every `protocol` port of this address is balanced. */
  vip?: string;
  /** The container port of an ingress entry; absent on the VIP entry. */
  targetPort?: number;
  /** Ingress published ports (routing mesh), answered on every node; sorted. Empty on VIPs. */
  ingressPorts: number[];
  /** Sorted by IP. Empty: no task runs; the VIP refuses connections. */
  backends: Backend[];
}

/** The protocols a VIP balances (all of their ports). */
const VIP_PROTOCOLS: readonly PortProtocol[] = ["tcp", "udp"];

/** The plan for all endpoints (pure). */
export function planServices(endpoints: readonly ServiceEndpoint[]): ServicePortPlan[] {
  const out: ServicePortPlan[] = [];
  for (const ep of endpoints) {
    if (ep.endpointMode === "dnsrr") continue;
    const ips = [...new Set(ep.taskIps)].sort(compareIp);
    if (ep.vip !== undefined) {
      // Declared ports get no VIP entry of their own: the port clients use on the VIP is the
      // target port, which the all-ports DNAT keeps, so per-port rules would only duplicate it.
      for (const protocol of VIP_PROTOCOLS) {
        out.push({
          key: `${ep.serviceId}/${protocol}/*`,
          serviceName: ep.name,
          protocol,
          vip: ep.vip,
          ingressPorts: [],
          backends: ips.map((ip) => ({ ip })),
        });
      }
    }
    const byKey = new Map<string, ServicePortPlan>();
    for (const p of ep.ports) {
      if (p.published === undefined || p.publishMode !== "ingress") continue;
      const key = `${ep.serviceId}/${p.protocol}/${p.target}`;
      let plan = byKey.get(key);
      if (!plan) {
        plan = {
          key,
          serviceName: ep.name,
          protocol: p.protocol,
          targetPort: p.target,
          ingressPorts: [],
          backends: ips.map((ip) => ({ ip, port: p.target })),
        };
        byKey.set(key, plan);
      }
      // The same target may be published twice (8080:80 and 8081:80): one chain, two ports.
      plan.ingressPorts.push(p.published);
    }
    for (const plan of byKey.values()) {
      plan.ingressPorts.sort((a, b) => a - b);
      out.push(plan);
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Orders dotted quads numerically. */
export function compareIp(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 4; i++) {
    if (pa[i]! !== pb[i]!) return pa[i]! - pb[i]!;
  }
  return 0;
}

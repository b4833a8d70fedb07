/**
 * What the service endpoints mean for one node's packet filter, as a pure value: one entry per
 * service port with its VIP (endpoint mode `vip`), its ingress published port (routing mesh)
 * and its backends (task IP : target port), sorted so the same endpoints always give the same
 * plan (and the same rules, which keeps the diff-based apply minimal).
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
  port: number;
}

/** One service port on this node. */
export interface ServicePortPlan {
  /** `<serviceId>/<protocol>/<target>`: names the port's chains. */
  key: string;
  serviceName: string;
  protocol: PortProtocol;
  /** The service VIP (absent: not allocated yet, so only ingress applies). */
  vip?: string;
  /** The port clients use on the VIP: the target port, as in Swarm. */
  vipPort: number;
  /** Ingress published ports (routing mesh), answered on every node; sorted. */
  ingressPorts: number[];
  /** Sorted by IP. Empty: no task runs; the VIP does not answer. */
  backends: Backend[];
}

/** The plan for all endpoints (pure). */
export function planServices(endpoints: readonly ServiceEndpoint[]): ServicePortPlan[] {
  const out: ServicePortPlan[] = [];
  for (const ep of endpoints) {
    if (ep.endpointMode === "dnsrr") continue;
    const ips = [...new Set(ep.taskIps)].sort(compareIp);
    const byKey = new Map<string, ServicePortPlan>();
    for (const p of ep.ports) {
      const key = `${ep.serviceId}/${p.protocol}/${p.target}`;
      let plan = byKey.get(key);
      if (!plan) {
        plan = {
          key,
          serviceName: ep.name,
          protocol: p.protocol,
          ...(ep.vip !== undefined ? { vip: ep.vip } : {}),
          vipPort: p.target,
          ingressPorts: [],
          backends: ips.map((ip) => ({ ip, port: p.target })),
        };
        byKey.set(key, plan);
      }
      // The same target may be published twice (8080:80 and 8081:80): one chain, two ports.
      if (p.published !== undefined && p.publishMode === "ingress") {
        plan.ingressPorts.push(p.published);
      }
    }
    for (const plan of byKey.values()) {
      plan.ingressPorts.sort((a, b) => a - b);
      if (plan.vip !== undefined || plan.ingressPorts.length > 0) out.push(plan);
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

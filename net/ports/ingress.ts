/**
 * Ingress published ports (the routing mesh): `--publish 8080:80` answers on port 8080 of every
 * node. A packet to any local address of the node on that port is marked and sent through the
 * service port's balancing chain, which DNATs it straight to a task IP:80 — not to the VIP: a
 * nat chain stops at its first DNAT, so a VIP in between would never be translated again.
 *
 * Client source IP: a task on this node sees the client's real address (DNAT only, and the
 * reply returns through this node, the task's default gateway). A task on another node is
 * reached through the overlay with the connection MASQUERADEd to this node's outgoing address:
 * the remote task's replies go to its own node, so without SNAT they would bypass this node's
 * conntrack and never be un-DNATed. So **remote tasks see the ingress node's address**, as in
 * Swarm's routing mesh; use `mode=host` where the client address matters.
 *
 * Local processes reaching `<node address>:8080` are handled too (OUTPUT); 127.0.0.1:8080 is
 * relayed in user space by loopback_forwarder.ts (in the kernel it would need `route_localnet`).
 * @module
 */
import { INGRESS_MARK, type ServicePortPlan } from "../vip/service_plan.ts";

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Rule bodies (arguments after `-A <chain>`) of the node's ports chain for one service port:
 * mark, then jump to the port's balancing chain `svcChain` (pure).
 */
export function ingressIptablesRules(p: ServicePortPlan, svcChain: string): string[] {
  const out: string[] = [];
  for (const port of p.ingressPorts) {
    const match =
      `-p ${p.protocol} -m ${p.protocol} --dport ${port} -m comment --comment "${p.serviceName} ingress ${port}->${p.targetPort}/${p.protocol}"`;
    out.push(`${match} -j MARK --set-xmark ${hex(INGRESS_MARK)}/${hex(INGRESS_MARK)}`);
    out.push(`${match} -j ${svcChain}`);
  }
  return out;
}

/** The same for the nft backend: statements of the `ports` chain (pure). */
export function ingressNftRules(p: ServicePortPlan, svcChain: string): string[] {
  return p.ingressPorts.map((port) =>
    `${p.protocol} dport ${port} meta mark set meta mark | ${hex(INGRESS_MARK)} jump ${svcChain}`
  );
}

/**
 * POSTROUTING rule body masquerading ingress traffic that leaves through anything but the
 * node's bridge (i.e. to a task on another node).
 */
export function ingressMasqueradeRule(bridge: string): string {
  return `-m mark --mark ${hex(INGRESS_MARK)}/${hex(INGRESS_MARK)} ! -o ${bridge} -j MASQUERADE`;
}

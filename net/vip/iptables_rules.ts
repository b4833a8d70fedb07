/**
 * The node's nat chains for iptables, as pure data, and the `iptables-restore --noflush` batch
 * that turns one version into the next:
 *
 * ```
 * PREROUTING, OUTPUT ─▶ WARREN-SERVICES-<tag>  -d VIP -p tcp (any port) ─▶ WSVC-<tag>-<h>
 * PREROUTING, OUTPUT ─▶ WARREN-PORTS-<tag>     (dst-type LOCAL) --dport 8080 ─▶ mark, WSVC-…
 * WSVC-<tag>-<h>:  statistic random 1/3 ─▶ WSEP-a; 1/2 ─▶ WSEP-b; ─▶ WSEP-c
 * WSEP-<tag>-<h>:  -s self ─▶ MARK hairpin;  DNAT --to-destination task (VIP: port kept)
 *                                                               or task:80 (ingress)
 * POSTROUTING ─▶ WARREN-POSTRT-<tag>: hairpin mark ─▶ MASQUERADE; ingress mark leaving not by
 *   the bridge ─▶ MASQUERADE; task traffic leaving the cluster ─▶ MASQUERADE
 * filter OUTPUT, FORWARD ─▶ WARREN-NOEP-<tag>  -d VIP -p tcp (no task) ─▶ REJECT
 * ```
 *
 * A VIP has one rule per protocol whatever its ports (as Swarm's IPVS firewall mark), so rule
 * counts grow with services and tasks, not ports. The services chain only matches VIPs and the
 * ports chain only local addresses, so the two never compete for a packet.
 *
 * A VIP with no task is refused (ICMP port unreachable, so connect() fails at once with
 * "connection refused") instead of being routed nowhere and timing out; that REJECT lives in the
 * filter table, nat cannot refuse.
 *
 * The random cascade gives each of n backends 1/n: rule i matches with 1/(n-i) of what is left.
 * @module
 */
import type { NodeNames } from "../host/names.ts";
import { endpointChain, serviceChain } from "../host/names.ts";
import { ingressIptablesRules, ingressMasqueradeRule } from "../ports/ingress.ts";
import { type Backend, HAIRPIN_MARK, type ServicePortPlan } from "./service_plan.ts";

/** Chain name → rule bodies (the arguments after `-A <chain>`), in order. */
export type ChainRules = Map<string, string[]>;

/** Node facts the rules depend on. */
export interface NatContext {
  names: NodeNames;
  bridge: string;
  /** The node's task subnet. */
  subnet: string;
  /** All nodes' task subnets; traffic to it is not masqueraded. */
  clusterCidr: string;
  /**
   * Masquerade task → VIP → task traffic that stays on the bridge. Needed only where
   * `bridge-nf-call-iptables` is 0: the reply is then bridged straight back, past conntrack,
   * and would not be un-DNATed. Costs the client's source address for such connections.
   */
  masqueradeLocalVip?: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Every Warren nat chain of the node with its rules, for `plan` (pure). */
export function natRuleset(plan: readonly ServicePortPlan[], ctx: NatContext): ChainRules {
  const { names } = ctx;
  const services: string[] = [];
  const ports: string[] = [];
  const out: ChainRules = new Map();
  for (const p of plan) {
    const svc = serviceChain(names.tag, p.key);
    const comment = `-m comment --comment "${portLabel(p)}"`;
    if (p.vip !== undefined) services.push(`-d ${p.vip}/32 -p ${p.protocol} ${comment} -j ${svc}`);
    ports.push(...ingressIptablesRules(p, svc));
    const n = p.backends.length;
    const svcRules: string[] = [];
    p.backends.forEach((b, i) => {
      const ep = endpointChain(names.tag, `${p.key}/${b.ip}`);
      const left = n - i;
      svcRules.push(
        left === 1
          ? `${comment} -j ${ep}`
          : `${comment} -m statistic --mode random --probability ${
            (1 / left).toFixed(10)
          } -j ${ep}`,
      );
      out.set(ep, [
        `-s ${b.ip}/32 ${comment} -j MARK --set-xmark ${hex(HAIRPIN_MARK)}/${hex(HAIRPIN_MARK)}`,
        `-p ${p.protocol} ${comment} -m ${p.protocol} -j DNAT --to-destination ${dnatTarget(b)}`,
      ]);
    });
    out.set(svc, svcRules);
  }
  const post = [
    `-m mark --mark ${hex(HAIRPIN_MARK)}/${hex(HAIRPIN_MARK)} -j MASQUERADE`,
    ingressMasqueradeRule(ctx.bridge),
    `-s ${ctx.subnet} ! -d ${ctx.clusterCidr} ! -o ${ctx.bridge} -j MASQUERADE`,
  ];
  if (ctx.masqueradeLocalVip) {
    post.push(`-s ${ctx.subnet} -o ${ctx.bridge} -m conntrack --ctstate DNAT -j MASQUERADE`);
  }
  out.set(names.servicesChain, services);
  out.set(names.portsChain, ports);
  out.set(names.postroutingChain, post);
  return out;
}

/** `web:*\/tcp` (a VIP, every port) or `web:80/tcp` (an ingress target port). */
function portLabel(p: ServicePortPlan): string {
  return `${p.serviceName}:${p.targetPort ?? "*"}/${p.protocol}`;
}

/** `ip` keeps the packet's destination port (VIP); `ip:port` sets it (ingress). */
export function dnatTarget(b: Backend): string {
  return b.port === undefined ? b.ip : `${b.ip}:${b.port}`;
}

/** The node's filter chain refusing VIPs without tasks (every port), for `plan` (pure). */
export function rejectRuleset(plan: readonly ServicePortPlan[], names: NodeNames): ChainRules {
  const rules: string[] = [];
  for (const p of plan) {
    if (p.vip === undefined || p.backends.length > 0) continue;
    rules.push(
      `-d ${p.vip}/32 -p ${p.protocol} -m comment --comment "${portLabel(p)} has no task" ` +
        `-j REJECT --reject-with icmp-port-unreachable`,
    );
  }
  return new Map([[names.rejectChain, rules]]);
}

/**
 * The `iptables-restore --noflush` text turning `prev` into `next` in one atomic commit: changed
 * and new chains are declared (which creates or flushes them) and refilled, chains gone from
 * `next` are flushed then deleted after every reference to them was rewritten. Unchanged chains
 * are not touched. @returns "" when there is nothing to do
 */
export function restoreText(
  prev: ChainRules,
  next: ChainRules,
  table: "nat" | "filter" = "nat",
): string {
  const changed = [...next.keys()].filter((c) => !sameRules(prev.get(c), next.get(c)));
  const removed = [...prev.keys()].filter((c) => !next.has(c));
  if (changed.length === 0 && removed.length === 0) return "";
  const lines = [`*${table}`];
  for (const c of [...changed, ...removed]) lines.push(`:${c} - [0:0]`);
  for (const c of changed) for (const r of next.get(c)!) lines.push(`-A ${c} ${r}`);
  for (const c of removed) lines.push(`-X ${c}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

function sameRules(a: string[] | undefined, b: string[] | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((r, i) => r === b[i]);
}

/** The jumps from built-in nat chains into the node's chains: `[builtin, match args]`. */
export function natJumps(names: NodeNames): [string, string, string[]][] {
  const local = ["-m", "addrtype", "--dst-type", "LOCAL"];
  return [
    ["PREROUTING", names.servicesChain, []],
    ["OUTPUT", names.servicesChain, []],
    ["PREROUTING", names.portsChain, local],
    ["OUTPUT", names.portsChain, [...local, "!", "-d", "127.0.0.0/8"]],
    ["POSTROUTING", names.postroutingChain, []],
  ];
}

/** The jumps from built-in filter chains into the node's reject chain, first in each. */
export function filterJumps(names: NodeNames): [string, string, string[]][] {
  return [
    ["OUTPUT", names.rejectChain, []],
    ["FORWARD", names.rejectChain, []],
  ];
}

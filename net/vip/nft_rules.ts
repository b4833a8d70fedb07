/**
 * The node's nat rules for hosts without iptables: one nftables table, replaced as a whole in
 * one `nft -f` transaction (atomic; not a diff, which nft's table replacement makes cheap).
 * Same shape as the iptables chains: `services` (one rule per VIP and protocol, any port) and
 * `ports` dispatch to one chain per plan entry that picks a backend with `numgen random mod n`,
 * each backend chain marks hairpin traffic and DNATs (a VIP keeps the destination port). VIPs
 * with no task are refused from the filter hooks (forward, output), as with iptables.
 * @module
 */
import { ingressNftRules } from "../ports/ingress.ts";
import { shortHash } from "../host/names.ts";
import { dnatTarget, type NatContext } from "./iptables_rules.ts";
import { HAIRPIN_MARK, INGRESS_MARK, type ServicePortPlan } from "./service_plan.ts";

const hex = (n: number) => `0x${n.toString(16)}`;

/** The complete `nft -f` script for `plan` in table `table` (pure). */
export function nftScript(
  table: string,
  plan: readonly ServicePortPlan[],
  ctx: NatContext,
): string {
  const chains: string[] = [];
  const services: string[] = [];
  const refused: string[] = [];
  const ports: string[] = [];
  for (const p of plan) {
    const svc = `svc_${shortHash(p.key, 10)}`;
    if (p.vip !== undefined) {
      services.push(`ip daddr ${p.vip} meta l4proto ${p.protocol} jump ${svc}`);
      if (p.backends.length === 0) {
        refused.push(`ip daddr ${p.vip} meta l4proto ${p.protocol} reject`);
      }
    }
    ports.push(...ingressNftRules(p, svc));
    const eps = p.backends.map((b) => {
      const ep = `ep_${shortHash(`${p.key}/${b.ip}`, 10)}`;
      chains.push(chain(ep, [
        `ip saddr ${b.ip} meta mark set meta mark | ${hex(HAIRPIN_MARK)}`,
        `meta l4proto ${p.protocol} dnat to ${dnatTarget(b)}`,
      ]));
      return ep;
    });
    const pick = eps.length === 0
      ? []
      : eps.length === 1
      ? [`jump ${eps[0]}`]
      : [`numgen random mod ${eps.length} vmap { ${
        eps.map((e, i) => `${i} : jump ${e}`).join(", ")
      } }`];
    chains.push(chain(svc, pick));
  }
  const post = [
    `meta mark & ${hex(HAIRPIN_MARK)} == ${hex(HAIRPIN_MARK)} masquerade`,
    `meta mark & ${hex(INGRESS_MARK)} == ${
      hex(INGRESS_MARK)
    } oifname != "${ctx.bridge}" masquerade`,
    `ip saddr ${ctx.subnet} ip daddr != ${ctx.clusterCidr} oifname != "${ctx.bridge}" masquerade`,
  ];
  if (ctx.masqueradeLocalVip) {
    post.push(`ip saddr ${ctx.subnet} oifname "${ctx.bridge}" ct status dnat masquerade`);
  }
  return [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    chain("prerouting", [
      "type nat hook prerouting priority dstnat; policy accept;",
      "jump services",
      "fib daddr type local jump ports",
    ]),
    chain("output", [
      "type nat hook output priority -100; policy accept;",
      "jump services",
      "fib daddr type local ip daddr != 127.0.0.0/8 jump ports",
    ]),
    chain("postrouting", ["type nat hook postrouting priority srcnat; policy accept;", ...post]),
    chain("filter_output", [
      "type filter hook output priority filter; policy accept;",
      "jump noendpoints",
    ]),
    chain("filter_forward", [
      "type filter hook forward priority filter; policy accept;",
      "jump noendpoints",
    ]),
    chain("noendpoints", refused),
    chain("services", services),
    chain("ports", ports),
    ...chains,
    "}",
    "",
  ].join("\n");
}

function chain(name: string, body: string[]): string {
  return [`  chain ${name} {`, ...body.map((l) => `    ${l}`), "  }"].join("\n");
}
